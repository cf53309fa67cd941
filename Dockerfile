# The portal image: web, worker and scheduler all run from it (see docker-compose.yml).

# Front-end packages come from the npm registry at build time (locked by package-lock.json).
FROM node:22-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STATIC_ROOT=/srv/istv/static \
    PRIVATE_STORAGE_ROOT=/srv/istv/data/private \
    QUARANTINE_STORAGE_ROOT=/srv/istv/data/quarantine
RUN useradd --system --uid 10001 --home-dir /srv/istv --shell /usr/sbin/nologin istv
WORKDIR /srv/istv/app

COPY requirements/base.txt requirements/base.txt
RUN pip install -r requirements/base.txt

COPY --from=assets /build/node_modules ./node_modules
COPY . .

# collectstatic needs importable production settings, not real secrets: throwaway values
# that live only for this one command and are not kept in the image.
RUN DJANGO_SETTINGS_MODULE=istv_portal.settings.production \
    DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
    MFA_ENCRYPTION_KEY="$(python -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')" \
    DJANGO_ALLOWED_HOSTS=build.invalid \
    DATABASE_URL=postgres://build@build.invalid/build \
    python manage.py collectstatic --noinput --verbosity 0 \
 && mkdir -p /srv/istv/data/private /srv/istv/data/quarantine /srv/istv/beat \
 && chown -R istv:istv /srv/istv/data /srv/istv/beat

USER istv
EXPOSE 8000
# Processes, threads, timeout and logs: gunicorn.conf.py (the load benchmark uses it too).
CMD ["gunicorn", "istv_portal.wsgi:application", "--config=gunicorn.conf.py"]
