#!/bin/sh
# Stand-in for one service of the stack: busybox httpd on $PORT serving a marker page that
# names $SERVICE_NAME, plus the service's health path ($HEALTH_PATH). With HEALTH_OK=0 the
# health path is not served, so the container's healthcheck fails (the "unhealthy" case).
set -eu
mkdir -p /www
# The marker stays served when unhealthy: if Traefik ever routed to an unhealthy instance,
# the test would see its INSTANCE in the page.
echo "stand-in:${SERVICE_NAME:?} instance:${INSTANCE:-main}" > /www/index.html
if [ "${HEALTH_OK:-1}" = "1" ] && [ -n "${HEALTH_PATH:-}" ] && [ "${HEALTH_PATH}" != "/" ]; then
  target="/www${HEALTH_PATH}"
  mkdir -p "$(dirname "$target")"
  echo "ok ${SERVICE_NAME}" > "$target"
fi
exec httpd -f -p "${PORT:?}" -h /www
