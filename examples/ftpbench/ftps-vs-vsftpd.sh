#!/bin/sh
# FTPS side by side: ftpdlib against vsftpd, both with explicit TLS (AUTH TLS, PROT P), on
# loopback, measured by ftpbench in one run, round by round, with paired ratios.
#
# The shared referee (../shared/bench/ftpbench.py) has no FTPS mode, so this script borrows its
# vsftpd recipe (anonymous user with write rights, chrooted in the bench root, sendfile on,
# sandboxing off) and adds vsftpd's TLS options. Both servers use the same ECDSA P-256
# certificate. vsftpd's own session-reuse check is switched off (require_ssl_reuse=NO) because
# vsftpd 3.0.3 cannot check reuse under TLS 1.3; ftpdlib keeps its check on, which is the
# harder job. Run as root (vsftpd insists), from the project root:
#
#   sh ../shared/bench/fetch_peers.sh          # once, unpacks vsftpd into /tmp/ftpbench-peers
#   sh examples/ftpbench/ftps-vs-vsftpd.sh [ftpbench flags, e.g. --repeat 5 --size 256M]
#
# Environment: VSFTPD_BIN (default: /tmp/ftpbench-peers/usr/sbin/vsftpd, else vsftpd on PATH),
# WORK (default: a new directory under /tmp). Default scenarios: retr,stor,sessions.
set -eu

die() { echo "ftps-vs-vsftpd: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "run as root (vsftpd refuses to start otherwise)"
VSFTPD=${VSFTPD_BIN:-/tmp/ftpbench-peers/usr/sbin/vsftpd}
[ -x "$VSFTPD" ] || VSFTPD=$(command -v vsftpd) || die "no vsftpd: run ../shared/bench/fetch_peers.sh"
command -v openssl >/dev/null || die "openssl is needed to make the test certificate"

cargo build --release --features cli --bin ftpdlib --example ftpbench >&2
BIN=target/release/ftpdlib
BENCH=target/release/examples/ftpbench

WORK=${WORK:-$(mktemp -d /tmp/ftps-bench.XXXXXX)}
# One root each, so files one server uploads cannot trip the other's permissions. vsftpd
# refuses a chroot root its user can write, so the bench works in a writable `work/` below it
# (ftpbench --cwd), on both servers alike.
ROOT=$WORK/root-vsftpd
mkdir -p "$ROOT/work" "$WORK/root-ftpdlib/work" "$WORK/empty"
chmod 555 "$WORK/empty"
chmod 755 "$ROOT" "$WORK/root-ftpdlib"
chmod 777 "$ROOT/work"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=localhost -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

# vsftpd's anonymous user must have an existing home (it chdir()s there before chroot).
FTP_USER=
for u in ftp daemon nobody; do
    home=$(getent passwd "$u" | cut -d: -f6) || continue
    if [ -d "$home" ]; then FTP_USER=$u; break; fi
done
[ -n "$FTP_USER" ] || die "no account among ftp/daemon/nobody with an existing home directory"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PV=$(free_port)
PO=$(free_port)

cat >"$WORK/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$PV
background=NO
anonymous_enable=YES
local_enable=NO
no_anon_password=YES
anon_root=$ROOT
ftp_username=$FTP_USER
nopriv_user=nobody
write_enable=YES
anon_upload_enable=YES
anon_mkdir_write_enable=YES
anon_other_write_enable=YES
anon_world_readable_only=NO
anon_umask=022
allow_writeable_chroot=YES
secure_chroot_dir=$WORK/empty
pasv_enable=YES
pasv_min_port=41000
pasv_max_port=42999
connect_from_port_20=NO
max_clients=0
max_per_ip=0
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
xferlog_enable=NO
dirmessage_enable=NO
tcp_wrappers=NO
use_sendfile=YES
idle_session_timeout=600
data_connection_timeout=600
ssl_enable=YES
allow_anon_ssl=YES
force_anon_logins_ssl=YES
force_anon_data_ssl=YES
ssl_tlsv1=NO
ssl_sslv2=NO
ssl_sslv3=NO
require_ssl_reuse=NO
ssl_ciphers=HIGH
rsa_cert_file=$WORK/cert.pem
rsa_private_key_file=$WORK/key.pem
EOF
chmod 600 "$WORK/vsftpd.conf"

"$VSFTPD" "$WORK/vsftpd.conf" >"$WORK/vsftpd.log" 2>&1 &
SV=$!
"$BIN" -i 127.0.0.1 -p "$PO" -d "$WORK/root-ftpdlib" -u u -P p -w -r 43000-44999 --max-cons 0 \
    --log-level warn --tls --certfile "$WORK/cert.pem" --keyfile "$WORK/key.pem" \
    >"$WORK/ftpdlib.log" 2>&1 &
SO=$!
trap 'kill $SV $SO 2>/dev/null || true' EXIT INT TERM

# Wait (bounded) for both greetings.
for _ in $(seq 50); do
    if python3 -c "import socket,sys; [socket.create_connection(('127.0.0.1',p),1).close() for p in ($PV,$PO)]" 2>/dev/null; then
        break
    fi
    sleep 0.1
done

case " $* " in
    *" --scenario "*) SCEN= ;;
    *) SCEN="--scenario retr,stor,sessions" ;;
esac
# vsftpd listens with a backlog of 32: like the referee, keep at most that many connects
# waiting for their greeting, for both servers, or vsftpd's sessions time out in the queue.
case " $* " in
    *" --connect-window "*) ;;
    *) SCEN="$SCEN --connect-window 32" ;;
esac
# shellcheck disable=SC2086 # SCEN holds flags and their values, split on purpose
"$BENCH" --tls --insecure --port "$PO" --user u --password p --server-pid "$SO" --label ftpdlib \
    --baseline-port "$PV" --baseline-user anonymous --baseline-password bench@ \
    --baseline-pid "$SV" --baseline-label vsftpd --cwd work --prepare $SCEN "$@"
