#!/usr/bin/env python3
"""callgrind-categories.py — where the instructions of a callgrind dump go, by component.

    bench/callgrind-categories.py CALLGRIND_OUT [REQUESTS]

Reads `callgrind_annotate` (self cost per function) and groups the functions into the components a
proxied request passes through: the Swift runtime (reference counting, exclusivity checks, casts and
metadata), malloc/free, memcpy/memset, BoringSSL (TLS records and crypto), SwiftNIO (core, POSIX
channels, NIOSSL's handler, HTTP/2 and HPACK), Gatehouse's own modules, PCRE2, and the rest. With
REQUESTS (the dump's request count, as bench/profile-proxy.sh prints it) the table is per request.
"""
import re
import subprocess
import sys
from collections import defaultdict

# First match wins: the order puts the specific names before the catch-alls.
CATEGORIES = [
    ("memcpy/memset", re.compile(r"__mem(cpy|move|set)|memcpy|memmove|memset|_swift_pod_copy")),
    ("malloc/free", re.compile(r"\b(malloc|free|_int_malloc|_int_free|realloc|_int_realloc|calloc|malloc_consolidate|tcache|cfree|swift_slowAlloc|swift_slowDealloc)\b|malloc\.c")),
    ("Swift runtime: retain/release", re.compile(r"swift_(retain|release|bridgeObject(Retain|Release)|unknownObject(Retain|Release)|isUniquelyReferenced)|RefCounts|swift_allocObject|swift_deallocObject")),
    ("Swift runtime: exclusivity", re.compile(r"swift_(beginAccess|endAccess)|AccessSet|SwiftTLSContext|__tls_get_addr")),
    ("Swift runtime: casts, metadata, witnesses", re.compile(r"swift_(dynamicCast|conformsToProtocol|getGenericMetadata|getWitnessTable|checkMetadataState)|tryCast|metadataimpl|ValueWitnesses|MetadataCache|getEnumTag|swift::|\$s.*W[a-z]+$|^\$s[^ ]*(wcp|wxx|wca|wta|WOy|WOe|WOh)\b")),
    ("BoringSSL", re.compile(r"CNIOBoringSSL|bssl::|aesni|gcm|ghash|sha256|sha512|fe_mul|x25519|ecp_nistz|aead_|_aes|EVP_|HMAC|HKDF")),
    ("PCRE2", re.compile(r"pcre2|jit", re.I)),
    ("Gatehouse", re.compile(r"\$s\d+Gatehouse")),
    ("SwiftNIO: HTTP/2 + HPACK", re.compile(r"\$s\d+NIO(HTTP2|HPACK)")),
    ("SwiftNIO: TLS handler", re.compile(r"\$s\d+NIO(SSL|TLS)")),
    ("SwiftNIO: core, channels, event loop", re.compile(r"\$s\d+NIO(Core|Posix|Concurrency|Embedded|HTTP1)|\$s\d+_NIO|epoll|CNIOLinux|CNIOPosix")),
    ("Swift standard library", re.compile(r"^\$s")),
]


def categorize(name):
    for label, pattern in CATEGORIES:
        if pattern.search(name):
            return label
    return "other (libc, kernel entry points, ...)"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    dump = sys.argv[1]
    requests = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    out = subprocess.run(["callgrind_annotate", "--threshold=100", dump], capture_output=True, text=True, check=True).stdout
    totals = defaultdict(int)
    total = 0
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) \([ \d.]+%\)\s+(.*)$", line)
        if not m:
            continue
        count = int(m.group(1).replace(",", ""))
        rest = m.group(2)
        if "PROGRAM TOTALS" in rest:
            total = count
            continue
        # `file:function [object]`: the function is after the last ':' of the part before ' ['.
        symbol = rest.split(" [")[0]
        symbol = symbol.split(":", 1)[1] if ":" in symbol else symbol
        totals[categorize(symbol)] += count
    scale = requests or 1
    unit = "per request" if requests else "total"
    print(f"| component | instructions {unit} | share |")
    print("| --- | --- | --- |")
    for label, count in sorted(totals.items(), key=lambda item: -item[1]):
        print(f"| {label} | {count / scale:,.0f} | {100 * count / total:.1f}% |")
    print(f"| **total** | **{total / scale:,.0f}** | |")


if __name__ == "__main__":
    main()
