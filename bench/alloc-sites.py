#!/usr/bin/env python3
"""alloc-sites.py — allocations per request by site, from two DHAT profiles of the same load.

    alloc-sites.py --requests R --top T BEFORE.json AFTER.json

BEFORE and AFTER are `valgrind --tool=dhat` profiles (dhatFileVersion 2) of two runs that differ
only in R more requests (bench/alloc-budget.sh MODE=dhat). Every allocation stack's block count in
BEFORE is subtracted from AFTER's, so start-up and connection set-up cancel; the rest divided by R
is that stack's allocations per request. Stacks are grouped by site: what was allocated (the innermost
frame outside malloc and swift_allocObject) and who asked (the next frames outside string, array,
buffer, promise and timer plumbing); the T largest sites are printed, Swift names demangled (`swift demangle --simplified` when it is on PATH).
"""
import argparse
import collections
import json
import re
import shutil
import subprocess

# Frames of the allocator itself: skipped to find what was allocated (the first frame shown).
ALLOCATOR = re.compile(
    r"^(malloc|calloc|realloc|memalign|posix_memalign|aligned_alloc|operator new|swift_slowAlloc|"
    r"swift::swift_slowAlloc|swift_allocObject|_swift_allocObject_|swift_allocBox|swift_allocEmptyBox|"
    r"swift_bufferAllocate|\?\?\?)"
)
# Frames of containers, strings, buffers, promises and timers: skipped to find who asked for the
# allocation (the frames shown after the arrow).
PLUMBING = re.compile(
    ALLOCATOR.pattern
    + r"|_allocateUninitializedArray|_ContiguousArrayBuffer|_ArrayBuffer|ContiguousArray|"
    r"_copyCollectionToContiguousArray|_copyContents|_allocateBuffer|_growArrayCapacity|"
    r"_createNewBuffer|_reserveCapacity|reserveCapacity|append\(contentsOf:|ManagedBuffer|"
    r"_allocateStringStorage|String\._|_StringGuts|_StringObject|__StringStorage|String\.init|"
    r"_NativeDictionary|_DictionaryStorage|_NativeSet|_SetStorage|Set\.init|Dictionary\.init|"
    r"ByteBuffer\._|ByteBuffer\.write|ByteBuffer\.reserveCapacity|ByteBuffer\.set|ByteBufferAllocator|"
    r"_prepareToSchedule|scheduleTask|EventLoopFuture\.__allocating_init|EventLoopFuture\.init|"
    r"makePromise|swift_dynamicCast|swift_getGenericMetadata|swift_allocateGenericValueMetadata|"
    r"protocol witness for|partial apply for|thunk for|ChannelHandlerContext\.invoke|"
    r"ChannelHandlerContext\.(write|fire|flush)|ChannelPipeline\.SynchronousOperations"
)
DEPTH = 2  # caller frames shown per site


def frame_name(entry: str) -> str:
    """'0x4A2B: $s4main3fooyyF (in /path/bin)' -> '$s4main3fooyyF' (file:line kept when present)."""
    name = entry.split(": ", 1)[1] if ": " in entry else entry
    return re.sub(r" \(in [^)]*\)$", "", name)


def load(path: str) -> dict:
    with open(path) as handle:
        profile = json.load(handle)
    table = [frame_name(f) for f in profile["ftbl"]]
    blocks = collections.Counter()
    for point in profile["pps"]:
        blocks[tuple(table[i] for i in point["fs"])] += point["tbk"]
    return blocks


def demangle(names: list) -> dict:
    tool = shutil.which("swift-demangle") or shutil.which("swift")
    if tool is None or not names:
        return {n: n for n in names}
    command = [tool] + (["demangle"] if tool.endswith("/swift") else []) + ["--simplified"]
    result = subprocess.run(command, input="\n".join(names) + "\n", capture_output=True, text=True)
    lines = result.stdout.split("\n")
    if result.returncode != 0 or len(lines) < len(names):
        return {n: n for n in names}
    return dict(zip(names, lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, required=True)
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("before")
    parser.add_argument("after")
    args = parser.parse_args()

    before, after = load(args.before), load(args.after)
    names = {name for stack in list(before) + list(after) for name in stack}
    readable = demangle(sorted(names))
    sites = collections.Counter()
    total = 0
    for stack in set(before) | set(after):
        delta = after[stack] - before[stack]
        total += delta
        frames = [readable[n] for n in stack]
        at = next((i for i, f in enumerate(frames) if not ALLOCATOR.search(f)), len(frames) - 1)
        what = frames[at] if frames else "?"
        callers = [f for f in frames[at + 1:] if not PLUMBING.search(f)][:DEPTH]
        key = f"{what}  <-  {' < '.join(callers)}" if callers else what
        sites[key] += delta
    print(f"  {total / args.requests:.1f} allocations per request (all threads)")
    for site, delta in sites.most_common(args.top):
        print(f"  {delta / args.requests:6.1f}  {site}")


if __name__ == "__main__":
    main()
