"""Benchmark of documents (issue 17): upload of a 10 MB PDF through the API over loopback, the web worker's memory over
20 such uploads one after another (streaming, not buffering), and the preview of a 20-page PDF in the task.

    .venv/bin/python bench/documents.py                 # SQLite and local storage in a temporary folder
    .venv/bin/python bench/documents.py --uploads 40 --mb 10

Starts its own gunicorn (one sync worker) on a free loopback port against a temporary database and MEDIA_ROOT, gets
a token, posts the file N times to POST /api/loans/{id}/documents/ and reads the worker's resident memory
(/proc/<pid>/status VmRSS) after each upload; then runs the preview task in this process on a 20-page PDF.
Prints p50/p95/max upload seconds, the worker's RSS before, after each fifth upload and its growth, and the preview
time. Targets (issue 17): upload p95 < 1 s; RSS flat; preview < 2 s.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def big_pdf(megabytes: int) -> bytes:
    """A valid PDF of about ``megabytes`` MB: pages of random noise (JPEG does not compress noise)."""
    from PIL import Image

    def build(count: int) -> bytes:
        pages = [Image.frombytes("RGB", (1000, 1000), os.urandom(3_000_000)) for _ in range(count)]
        out = io.BytesIO()
        pages[0].save(out, "PDF", save_all=True, append_images=pages[1:], resolution=150)
        return out.getvalue()

    one = len(build(1))
    return build(max(1, -(-megabytes * 1024 * 1024 // one)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def worker_pid(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return int(children[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--mb", type=int, default=10)
    parser.add_argument("--preview-pages", type=int, default=20)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15", help="broker for the queued previews")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="lc-bench-documents-"))
    # The preview task goes to the queue as in production (--redis, db 15 by default; nothing consumes it here and
    # the queue is emptied at the end): the upload's time is the request's own, not the preview's.
    env = {**os.environ, "SQLITE_PATH": str(work / "db.sqlite3"), "MEDIA_ROOT": str(work / "media"),
           "DATABASE_URL": "", "REDIS_URL": args.redis, "DJANGO_SETTINGS_MODULE": "loancenter.settings", "LOG_LEVEL": "WARNING",
           "DOCUMENT_MAX_BYTES": str(max(20, args.mb + 5) * 1024 * 1024)}
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from decimal import Decimal

    from applications.models import Customer, Loan, Product
    from loancenter.lib.dates import today
    from loancenter.lib.idcard import make_id_number
    from loancenter.services import staff_create

    officer = staff_create(username="bench_mkt", posts=["marketing"], password="bench-pass-123", full_name="bench")
    product = Product.objects.create(
        code="bench", name="bench", category="consumer", min_amount=Decimal("1000"), max_amount=Decimal("500000"),
        min_term_months=6, max_term_months=60, repayment_methods=["equal_installment"], min_rate=Decimal("0.03"),
        max_rate=Decimal("0.12"), max_dti=Decimal("0.5"), investigation_rate=Decimal("1"), max_age_at_maturity=65,
        penalty_markup=Decimal("0.5"), required_documents=["id_card", "income_proof"])
    from datetime import date

    customer = Customer.objects.create(name="张伟", id_number=make_id_number("110101", date(1985, 6, 15), 11),
                                       phone="13800000000", monthly_income=Decimal("20000"), officer=officer)
    loan = Loan.objects.create(customer=customer, product=product, marketing_officer=officer, amount=Decimal("100000"),
                               term_months=36, repayment_method="equal_installment", purpose="home_renovation",
                               interviewed_on=today(), credit_authorised=True, application_no="GDBENCH000001")
    payload = big_pdf(args.mb)
    print(f"file: {len(payload) / 1024 / 1024:.1f} MB PDF")

    port = free_port()
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "loancenter.wsgi:application", "-c", str(ROOT / "bench" / "gunicorn_bench.conf.py"), "-b", f"127.0.0.1:{port}",
         "-w", "1", "--worker-class", "sync", "--timeout", "120", "--log-level", "warning"],
        cwd=ROOT, env=env)
    try:
        import requests

        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.get(f"{base}/healthz", timeout=10)
                break
            except requests.RequestException:
                time.sleep(0.2)
        token = requests.post(f"{base}/api/auth/token/", data={"username": "bench_mkt", "password": "bench-pass-123"},
                              timeout=10).json()["token"]
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        worker = worker_pid(server.pid)
        before = rss_kb(worker)
        print(f"worker RSS before: {before / 1024:.1f} MB")
        times, rss = [], []
        for number in range(1, args.uploads + 1):
            started = time.perf_counter()
            response = session.post(f"{base}/api/loans/{loan.pk}/documents/", data={"code": "income_proof"},
                                    files={"file": ("proof.pdf", payload, "application/pdf")}, timeout=120)
            times.append(time.perf_counter() - started)
            assert response.status_code == 201, response.text
            rss.append(rss_kb(worker))
            if number % 5 == 0:
                print(f"  after upload {number:>3}: {times[-1]:.3f} s, worker RSS {rss[-1] / 1024:.1f} MB")
        ordered = sorted(times)
        p95 = ordered[max(0, int(round(0.95 * len(ordered))) - 1)]
        print(f"upload of {len(payload) / 1024 / 1024:.1f} MB over loopback, {args.uploads} runs: "
              f"p50 {ordered[len(ordered) // 2]:.3f} s, p95 {p95:.3f} s, max {ordered[-1]:.3f} s (target p95 < 1 s)")
        print(f"worker RSS: before {before / 1024:.1f} MB, after the first {rss[0] / 1024:.1f} MB, "
              f"after the last {rss[-1] / 1024:.1f} MB, max {max(rss) / 1024:.1f} MB; growth from the first upload to "
              f"the last {(rss[-1] - rss[0]) / 1024:+.1f} MB (flat: streaming, not buffering)")
    finally:
        server.terminate()
        server.wait(timeout=30)
        import redis

        redis.Redis.from_url(args.redis).flushdb()  # the previews queued by the uploads: nobody will make them

    from applications.files.models import DocumentFile
    from applications.files.samples import sample_pdf, store_sample
    from applications.files.tasks import make_document_preview

    content = sample_pdf("twenty pages", pages=args.preview_pages)
    document = store_sample(customer_id=customer.pk, loan=loan, code="income_proof", by=officer, content=content,
                            pages=args.preview_pages)
    started = time.perf_counter()
    make_document_preview.apply(args=[document.pk]).get()  # the task's body, in this process
    elapsed = time.perf_counter() - started
    assert DocumentFile.objects.get(pk=document.pk).preview_name
    print(f"preview of a {args.preview_pages}-page PDF ({len(content) / 1024:.0f} KB) in the task: {elapsed:.3f} s "
          f"(target < 2 s)")


if __name__ == "__main__":
    main()
