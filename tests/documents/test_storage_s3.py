"""Documents in an S3-compatible store (DOCUMENT_STORAGE=s3, django-storages) against moto's local server."""

from __future__ import annotations

import hashlib

import boto3
import pytest
from moto import server as moto_server

from tests.documents.support import PDF_BYTES, pdf, upload
from tests.factories import LoanFactory


@pytest.fixture
def s3(settings):
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    keys = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}
    client = boto3.client("s3", endpoint_url=endpoint, **keys)
    client.create_bucket(Bucket="loancenter-documents")
    settings.STORAGES = {**settings.STORAGES, "documents": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": "loancenter-documents", "endpoint_url": endpoint, "access_key": "test", "secret_key": "test",
        "region_name": "us-east-1", "file_overwrite": False}}}
    yield client
    server.stop()


def test_upload_download_and_preview_through_an_s3_store(api, staff, product, customer, s3,
                                                         django_capture_on_commit_callbacks):
    loan = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt, files=[])
    with django_capture_on_commit_callbacks(execute=True):
        body = upload(api(staff.mkt), loan, "income_proof", pdf()).json()
    objects = s3.list_objects_v2(Bucket="loancenter-documents")["Contents"]
    stored = [o["Key"] for o in objects]
    assert len(stored) == 2  # the file and the preview the (in-process) task made
    original = next(k for k in stored if not k.endswith(".preview.jpg"))
    assert hashlib.sha256(s3.get_object(Bucket="loancenter-documents", Key=original)["Body"].read()).hexdigest() \
        == body["sha256"] == hashlib.sha256(PDF_BYTES).hexdigest()
    response = api(staff.mkt).get(f"/api/documents/{body['id']}/file/")
    assert b"".join(response.streaming_content) == PDF_BYTES
    preview = api(staff.mkt).get(f"/api/documents/{body['id']}/preview/")
    assert preview["Content-Type"] == "image/jpeg" and b"".join(preview.streaming_content)[:2] == b"\xff\xd8"
