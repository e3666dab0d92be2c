#!/usr/bin/env sh
# Writes overlays/production/secrets/*.env with fresh random, URL-safe (hex) passwords, each used consistently in
# the server Secret and in the app's connection strings. Existing files are kept (delete them to regenerate).
# Usage: infra/k8s/overlays/production/secrets/make-secrets.sh [namespace]
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
ns=${1:-kimia}
rnd() { openssl rand -hex 24; }
write() { # FILE CONTENT
  if [ -e "$dir/$1" ]; then echo "kept $1"; else umask 077; printf '%s\n' "$2" > "$dir/$1"; echo "wrote $1"; fi
}
pg=$(rnd); mq=$(rnd); s3=$(rnd); cookie=$(rnd)
write postgres.env "POSTGRES_USER=kimia
POSTGRES_PASSWORD=$pg"
write rabbitmq.env "RABBITMQ_DEFAULT_USER=kimia
RABBITMQ_DEFAULT_PASS=$mq
RABBITMQ_ERLANG_COOKIE=$cookie
KEDA_MANAGEMENT_URI=http://kimia:$mq@kimia-rabbitmq.$ns.svc.cluster.local:15672/"
write s3.env "S3_ACCESS_KEY=kimia
S3_SECRET_KEY=$s3"
write app.env "Database__ConnectionString=Host=kimia-postgres;Port=5432;Database=kimia;Username=kimia;Password=$pg
RabbitMq__Uri=amqp://kimia:$mq@kimia-rabbitmq:5672/
S3__AccessKey=kimia
S3__SecretKey=$s3"
echo "Note: if some files were kept and others written, the passwords no longer match - regenerate all together."
