#!/usr/bin/env bash
# Remakes the encrypted notification fixtures *.body from the plaintext
# objects *.json, outside Go, the way Justap's gateway encrypts (PHP's
# openssl_private_encrypt): the plaintext is cut into blocks of at most
# (key size - 11) bytes, each block goes through `openssl rsautl -sign`
# (RSA with PKCS#1 v1.5 type-1 padding, with the private key), the blocks
# are joined, base64-encoded and put in the envelope.
#
#   bash testdata/notifications/make.sh            # remake the bodies
#   bash testdata/notifications/make.sh -newkeys   # new test-only keys first
#
# Type-1 padding is deterministic, so the same keys remake the same bytes;
# the tests check that rsa.SignPKCS1v15(nil, key, 0, block) gives them too.
# The keys are test-only: public, in the repository, never used for real.
set -euo pipefail
cd "$(dirname "$0")"
keys=..

if [ "${1:-}" = "-newkeys" ]; then
	for bits in 2048 4096; do
		openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$bits" -out "$keys/test-only-justap-rsa$bits.pem"
		openssl pkey -in "$keys/test-only-justap-rsa$bits.pem" -pubout -out "$keys/test-only-justap-rsa$bits-public.pem"
	done
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# encrypt JSON BITS EVENT: writes NAME.rsaBITS.body for NAME.json.
encrypt() {
	local json=$1 bits=$2 event=$3
	local key="$keys/test-only-justap-rsa$bits.pem"
	rm -f "$tmp"/block.* "$tmp/ct"
	# The object without the file's final newline.
	printf %s "$(cat "$json")" >"$tmp/plain"
	split -b $((bits / 8 - 11)) -a 3 -d "$tmp/plain" "$tmp/block."
	for b in "$tmp"/block.*; do
		# rsautl is deprecated in OpenSSL 3 but still the one tool that
		# takes a whole block (pkeyutl wants a digest-sized input).
		openssl rsautl -sign -inkey "$key" -in "$b" 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
	done >"$tmp/ct"
	printf '{"event":"%s","is_encrypted":true,"data":"%s"}\n' "$event" "$(base64 -w0 "$tmp/ct")" \
		>"${json%.json}.rsa$bits.body"
}

for bits in 2048 4096; do
	encrypt charge-paid.json "$bits" charge.paid
	encrypt charge-refunded.json "$bits" charge.refunded
done
