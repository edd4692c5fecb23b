# Production image: web (gunicorn), Celery worker and beat all run from it (docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# WeasyPrint needs Pango and HarfBuzz's subsetter; fonts-noto-cjk renders Chinese in PDFs;
# poppler-utils and gettext as in development. Chromium is only for the browser tests, not here.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk poppler-utils gettext \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# Static files are collected at build time and served by WhiteNoise; translations are compiled.
RUN DEBUG=0 SECRET_KEY=build-only AUDIT_HMAC_KEY=build-only python manage.py collectstatic --noinput \
 && DEBUG=0 SECRET_KEY=build-only AUDIT_HMAC_KEY=build-only python manage.py compilemessages --ignore=.venv >/dev/null 2>&1 || true

RUN useradd --system --home /app loancenter && chown -R loancenter /app
USER loancenter

EXPOSE 8000
# Settings in gunicorn.conf.py (read from /app): bind 0.0.0.0:8000, sync workers, two per core, access log.
CMD ["gunicorn", "loancenter.wsgi"]
