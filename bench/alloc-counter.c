// alloc-counter.c — an LD_PRELOAD library that counts heap allocations per thread, for
// bench/alloc-budget.sh (which compiles it on the fly: cc -O2 -shared -fPIC).
//
// Every malloc, calloc, realloc and aligned allocation (posix_memalign, aligned_alloc, memalign,
// valloc, pvalloc) made through the C library is counted, then served by glibc's own allocator
// (__libc_*), so the program under test allocates exactly as it would without the library. The
// counts live in a file mapped shared (ALLOC_COUNTER_FILE), so the script reads them at any moment
// with `od` while the program runs: no signal handler, no thread, nothing the program could block.
// Layout: a u64 header (slots claimed) and 5 padding words, then 256 slots of six u64 each:
// thread id, malloc, calloc, realloc, aligned, free. A thread claims a slot on its first call;
// threads beyond 256 share the last one (every count is an atomic add, so sharing stays exact).
// Without ALLOC_COUNTER_FILE the library only forwards.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *pointer);

enum { SLOTS = 256 };
enum { TID, MALLOC, CALLOC, REALLOC, ALIGNED, FREE, FIELDS };

struct table {
    uint64_t claimed;
    uint64_t padding[FIELDS - 1];
    uint64_t slot[SLOTS][FIELDS];
};

static struct table *table;
static __thread uint64_t *mine __attribute__((tls_model("initial-exec")));

__attribute__((constructor)) static void open_table(void) {
    const char *path = getenv("ALLOC_COUNTER_FILE");
    if (path == NULL) return;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return;
    if (ftruncate(fd, sizeof(struct table)) == 0) {
        void *mapped = mmap(NULL, sizeof(struct table), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (mapped != MAP_FAILED) table = mapped;
    }
    close(fd);
}

static void count(int field) {
    if (mine == NULL) {
        if (table == NULL) return;
        uint64_t index = __atomic_fetch_add(&table->claimed, 1, __ATOMIC_RELAXED);
        if (index >= SLOTS) index = SLOTS - 1;
        mine = table->slot[index];
        __atomic_store_n(&mine[TID], (uint64_t)syscall(SYS_gettid), __ATOMIC_RELAXED);
    }
    __atomic_fetch_add(&mine[field], 1, __ATOMIC_RELAXED);
}

void *malloc(size_t size) {
    count(MALLOC);
    return __libc_malloc(size);
}

void *calloc(size_t count_, size_t size) {
    count(CALLOC);
    return __libc_calloc(count_, size);
}

void *realloc(void *pointer, size_t size) {
    count(REALLOC);
    return __libc_realloc(pointer, size);
}

void free(void *pointer) {
    if (pointer != NULL) count(FREE);
    __libc_free(pointer);
}

void *memalign(size_t alignment, size_t size) {
    count(ALIGNED);
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    count(ALIGNED);
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **result, size_t alignment, size_t size) {
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
    count(ALIGNED);
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *result = pointer;
    return 0;
}

void *valloc(size_t size) {
    count(ALIGNED);
    return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), size);
}

void *pvalloc(size_t size) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    count(ALIGNED);
    return __libc_memalign(page, (size + page - 1) & ~(page - 1));
}
