#!/usr/bin/env bash
# reference-certgen.sh: the spec's certificate generation (/opt/flower/scripts/generate-certs.sh,
# design 02 §1.3) as an openssl CLI sequence, producing what `fl-certgen superlink --force`
# produces: a CA (10 years) and a server certificate (1 year) with the same subjects, SAN and
# extensions, the keys as PKCS#8, owners and modes, then `openssl verify`. It is the
# alternative bench/certgen.sh compares fl-certgen with; flkit never runs it.
#
#   bench/reference-certgen.sh rsa:4096|p256 CERT_DIR CA_KEY_DIR VM_IP UID:GID
set -eu

[ $# -eq 5 ] || {
	echo "usage: $0 rsa:4096|p256 CERT_DIR CA_KEY_DIR VM_IP UID:GID" >&2
	exit 2
}
kt=$1 dir=$2 cadir=$3 ip=$4 owner=$5
case $kt in
rsa:*) keyopts=(-algorithm RSA -pkeyopt "rsa_keygen_bits:${kt#rsa:}") ku=digitalSignature,keyEncipherment ;;
p256) keyopts=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256) ku=digitalSignature ;;
*)
	echo "$0: key type is rsa:BITS or p256" >&2
	exit 2
	;;
esac
mkdir -p "$dir" "$cadir"
chmod 0700 "$dir" "$cadir"
chown "$owner" "$dir"
cnf=$cadir/server.cnf
cat >"$cnf" <<EOF
[req]
prompt = no
default_md = sha256
distinguished_name = dn
req_extensions = req_ext
[dn]
O = Flower FL
CN = $ip
[req_ext]
subjectAltName = @alt_names
[srv_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,$ku
extendedKeyUsage = serverAuth
subjectAltName = @alt_names
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[alt_names]
DNS.1 = localhost
IP.1 = 127.0.0.1
IP.2 = ::1
IP.3 = $ip
EOF
# 1-2: the CA key and self-signed certificate.
openssl genpkey "${keyopts[@]}" -out "$cadir/ca.key" 2>/dev/null
openssl req -new -x509 -key "$cadir/ca.key" -sha256 -subj "/O=Flower FL/CN=Flower CA" -days 3650 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	-out "$dir/ca.crt" 2>/dev/null
# 3-5: the server key, CSR and certificate.
openssl genpkey "${keyopts[@]}" -out "$dir/server.key" 2>/dev/null
openssl req -new -key "$dir/server.key" -config "$cnf" -out "$dir/server.csr" 2>/dev/null
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$cadir/ca.key" -CAcreateserial -days 365 \
	-sha256 -extfile "$cnf" -extensions srv_ext -out "$dir/server.pem" 2>/dev/null
# 6-7: no intermediate files; owners and modes.
rm -f "$dir/server.csr" "$dir/ca.srl" "$cnf"
chown "$owner" "$dir/ca.crt" "$dir/server.pem" "$dir/server.key"
chmod 0644 "$dir/ca.crt" "$dir/server.pem"
chmod 0600 "$dir/server.key" "$cadir/ca.key"
# 8: verify the chain.
openssl verify -purpose sslserver -CAfile "$dir/ca.crt" "$dir/server.pem" >/dev/null
