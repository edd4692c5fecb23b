"""Electronic documents (影像资料, SPEC §11, §16.7–9): uploaded files of a customer's folder and their loans.

``uploads`` counts an upload's bytes as they arrive; ``inspect`` finds what a file is from its bytes and refuses what
is not a PDF, JPEG or PNG that opens; ``services`` stores, versions, voids and serves; ``selectors`` reads within the
reader's data scope; ``previews`` makes the reduced image (a Celery task).
"""
