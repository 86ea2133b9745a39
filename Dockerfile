# legpress-bot in a container: the package (with its content, bot/faq.yaml) installed by `pip install .`,
# run as an unprivileged user, every bit of state in the /data volume.
#   docker build -t legpress-bot .
#   docker run -d --restart unless-stopped --env-file .env -v legpress-data:/data legpress-bot
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/data \
    WEBHOOK_LISTEN=0.0.0.0

# extras of the package to add, e.g. `--build-arg EXTRAS=postgres` for DATABASE_URL (compose.postgres.yaml)
ARG EXTRAS=""

WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install . \
    && if [ -n "$EXTRAS" ]; then pip install ".[$EXTRAS]"; fi \
    && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin legpress \
    && mkdir -p /data \
    && chown legpress:legpress /data

# the working folder is the volume: a faq.yaml put there is served instead of the packaged one
WORKDIR /data
VOLUME ["/data"]
USER legpress
EXPOSE 8443

# Polling: the container lives as long as the bot does. Webhook mode (WEBHOOK_URL set): GET /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD test -z "$WEBHOOK_URL" || python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('WEBHOOK_PORT', '8443') + '/healthz', timeout=4)"

STOPSIGNAL SIGTERM
CMD ["legpress-bot", "run"]
