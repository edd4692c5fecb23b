from django.apps import AppConfig


class PostloanConfig(AppConfig):
    name = "postloan"

    def ready(self) -> None:
        from django.core.signals import request_finished, request_started

        from loancenter.lib.dates import set_book_date_reader
        from postloan import book, work

        work.register_work()  # the T1 collection cases a hand-over moves (SPEC §13)
        work.register_queues()  # checks, signals and promises due on each collector's home page (SPEC §12)

        # The loan model (below postloan) reads the book date through loancenter.lib.dates.
        set_book_date_reader(book.book_date)
        # The book date is read once per request (postloan.book).
        request_started.connect(book.open_request_memo, dispatch_uid="postloan.book.open")
        request_finished.connect(book.close_request_memo, dispatch_uid="postloan.book.close")
