#!/usr/bin/env bash
# Install or upgrade crawler as a systemd service, from a checkout of the repository.
#
#   sudo deploy/install.sh        # first install, and every upgrade after it (same command)
#
# Layout (see deploy/crawler.service):
#   /opt/crawler/venvs/<stamp>    one virtualenv per install; /opt/crawler/venv points at the live one
#   /etc/crawler/crawler.toml     the config; written once from a starter, never overwritten
#   /etc/crawler/env              secrets for ${NAME} references, 0600 root; never overwritten
#   /etc/systemd/system/crawler.service
#
# An upgrade builds a new virtualenv beside the running one and checks the config with it before
# switching, so a failed build or an incompatible config leaves the running version untouched.
# Roll back: ln -sfn /opt/crawler/venvs/<previous> /opt/crawler/venv && systemctl restart crawler
#
# Environment: PYTHON (default python3, must be >= 3.11).
set -euo pipefail
shopt -s inherit_errexit # also stop on errors inside $(...)

readonly PREFIX=/opt/crawler
readonly CONFIG_DIR=/etc/crawler
readonly CONFIG="$CONFIG_DIR/crawler.toml"
readonly ENV_FILE="$CONFIG_DIR/env"
readonly UNIT=/etc/systemd/system/crawler.service
readonly LOGROTATE=/etc/logrotate.d/crawler
readonly KEEP_VENVS=3
PYTHON="${PYTHON:-python3}"

repo_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
readonly repo_dir

die() {
    printf 'install.sh: %s\n' "$*" >&2
    exit 1
}

say() {
    printf '==> %s\n' "$*"
}

preflight() {
    [[ $EUID -eq 0 ]] || die "run as root (sudo $0)"
    [[ -f "$repo_dir/pyproject.toml" ]] || die "$repo_dir does not look like the crawler repository"
    command -v systemctl >/dev/null || die "systemctl not found: this installer targets systemd hosts"
    command -v "$PYTHON" >/dev/null || die "$PYTHON not found (set PYTHON=/path/to/python3.11+)"
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "$PYTHON is older than 3.11"
    "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null \
        || die "$PYTHON lacks venv/ensurepip (Debian/Ubuntu: apt install python3-venv)"
}

# Build a fresh virtualenv and install the checkout into it; prints the new venv's path.
build_venv() {
    local venv
    venv="$PREFIX/venvs/$(date -u +%Y%m%dT%H%M%SZ)"
    [[ ! -e "$venv" ]] || die "$venv already exists (two installs in the same second?)"
    mkdir -p "$PREFIX/venvs"
    say "building $venv" >&2
    # Remove a half-built venv if pip fails, so it is never pruned into or linked by mistake.
    if ! { "$PYTHON" -m venv "$venv" \
            && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
                --no-input --no-cache-dir "$repo_dir" >&2; }; then
        rm -rf -- "$venv"
        die "building the virtualenv failed; the running version is untouched"
    fi
    # pip has compiled the bytecode already: the service runs with /opt read-only.
    printf '%s\n' "$venv"
}

install_config() {
    install -d -m 0755 "$CONFIG_DIR"
    if [[ -e "$CONFIG" ]]; then
        say "keeping existing $CONFIG"
    else
        say "writing a starter $CONFIG (edit the feeds, then start the service)"
        install -m 0644 /dev/null "$CONFIG"
        cat >"$CONFIG" <<'EOF'
# crawler configuration; see CONTRACT.md in the repository for every key.
# Secrets do not belong here: write ${NAME} and put NAME=value in /etc/crawler/env.

[storage]
database = "/var/lib/crawler/crawler.db"

[logging]
level = "info"
format = "json"                           # stdout goes to the journal
file = "/var/log/crawler/crawler.jsonl"   # "" for the journal only

[[feeds]]
url = "https://example.org/rss.xml"
interval = "10m"

# [[webhooks]]
# url = "https://hooks.example.org/news"
# secret = "${WEBHOOK_SECRET}"
EOF
        fresh_config=1
    fi
    if [[ ! -e "$ENV_FILE" ]]; then
        say "creating $ENV_FILE (0600) for secrets"
        install -m 0600 /dev/null "$ENV_FILE"
        printf '%s\n' "# NAME=value lines, read by systemd. For example:" \
            "# WEBHOOK_SECRET=whsec_..." >"$ENV_FILE"
    fi
    # Enforced on every run: the file holds webhook secrets.
    chown root:root "$ENV_FILE"
    chmod 0600 "$ENV_FILE"
}

# The config must load with the version about to run, with the secrets the service will see.
check_config() {
    local venv="$1"
    say "checking $CONFIG with the new version"
    (
        set -a
        # systemd's EnvironmentFile syntax and the shell's agree for plain NAME=value lines.
        # shellcheck disable=SC1090
        . "$ENV_FILE"
        set +a
        "$venv/bin/crawler" check-config --config "$CONFIG" >/dev/null
    ) || die "$CONFIG does not load with the new version; the running version is untouched"
}

# Point $PREFIX/venv at the new venv in one rename, so the unit never sees a missing path.
switch_venv() {
    local venv="$1"
    if [[ -d "$PREFIX/venv" && ! -L "$PREFIX/venv" ]]; then
        # A plain directory from an older layout: keep it as a rollback target.
        mv -T -- "$PREFIX/venv" "$PREFIX/venvs/$(date -u +%Y%m%dT%H%M%SZ)-legacy"
    fi
    ln -sfn -- "$venv" "$PREFIX/venv.new"
    mv -T -- "$PREFIX/venv.new" "$PREFIX/venv"
    say "$PREFIX/venv -> $venv"
}

prune_venvs() {
    local current all=() i
    current="$(readlink -f -- "$PREFIX/venv")"
    shopt -s nullglob
    all=("$PREFIX"/venvs/*/)
    shopt -u nullglob
    # Globs sort by name and names are UTC stamps, so the oldest come first.
    for ((i = 0; i < ${#all[@]} - KEEP_VENVS; i++)); do
        [[ "$(readlink -f -- "${all[i]}")" == "$current" ]] && continue
        rm -rf -- "${all[i]}"
    done
}

install_unit() {
    install -m 0644 "$repo_dir/deploy/crawler.service" "$UNIT"
    if [[ -d /etc/logrotate.d && -f "$repo_dir/deploy/crawler.logrotate" ]]; then
        install -m 0644 "$repo_dir/deploy/crawler.logrotate" "$LOGROTATE"
    fi
    systemctl daemon-reload
}

main() {
    local venv previous
    fresh_config=0
    preflight
    umask 022 # the venv must be readable by the service's dynamic user
    install -d -m 0755 "$PREFIX"
    venv="$(build_venv)"
    install_config
    if ((fresh_config)); then
        switch_venv "$venv"
        install_unit
        systemctl enable crawler
        say "installed. Edit $CONFIG (and $ENV_FILE), then: systemctl start crawler"
    else
        check_config "$venv"
        previous="$(readlink -f -- "$PREFIX/venv" || true)"
        switch_venv "$venv"
        install_unit
        systemctl enable crawler
        # restart, not start: an upgrade must replace the running process. With Type=notify this
        # waits for READY=1, so a version that cannot start is reported here.
        systemctl restart crawler || die "crawler failed to start (journalctl -u crawler -e);" \
            "roll back: ln -sfn $previous $PREFIX/venv && systemctl restart crawler"
        say "crawler $("$venv/bin/python" -c 'import crawler; print(crawler.__version__)') is running"
    fi
    prune_venvs
}

main "$@"
