// A cache of freed tensor buffers, keyed by exact size.
//
// Forward passes allocate the same activation sizes again and again. Handing a freed buffer of
// the same size back avoids malloc's bookkeeping and, for large buffers, the page faults and
// zero-filling of fresh pages from the kernel. The cache holds at most IK_CACHE_SLOTS buffers and
// `capacity` bytes (128 MiB unless INTERVENE_BUFFER_CACHE_MIB says otherwise, or
// `ik_buffer_set_capacity`); beyond that the oldest buffers go back to the system. A small
// per-thread cache of recent buffers sits in front of the shared one, so the common
// allocate-free-allocate pattern of one thread takes no lock.
//
// Buffers of IK_MAP_MIN bytes or more are mapped pages of their own (mmap/munmap), so a buffer
// the cache lets go of really leaves the process: malloc would keep mid-sized frees in its heap
// and the resident set would not shrink after a purge.
#include "CKernels.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define IK_CACHE_SLOTS 256
#define IK_MAP_MIN ((size_t)1 << 20)
#define IK_DEFAULT_CAPACITY ((size_t)128 << 20)

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t slot_size[IK_CACHE_SLOTS];
static void *slot_pointer[IK_CACHE_SLOTS];
static int slot_count = 0;
static size_t idle_bytes = 0;
static size_t capacity_bytes = IK_DEFAULT_CAPACITY;
static pthread_once_t capacity_once = PTHREAD_ONCE_INIT;

// Reads INTERVENE_BUFFER_CACHE_MIB (a whole number of MiB, 0 disables the cache) once.
static void ik_read_capacity(void) {
    const char *text = getenv("INTERVENE_BUFFER_CACHE_MIB");
    if (text == NULL || *text == 0) return;
    char *end = NULL;
    unsigned long long mib = strtoull(text, &end, 10);
    if (end != NULL && *end == 0 && mib <= ((size_t)1 << 20)) capacity_bytes = (size_t)mib << 20;
}

static void ik_buffer_release_shared(void *pointer, size_t bytes);

// A fresh buffer from the system: mapped pages for large ones, malloc's heap for the rest.
static void *ik_system_allocate(size_t bytes) {
    if (bytes >= IK_MAP_MIN) {
        void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? NULL : p;
    }
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes < 64 ? 64 : bytes) != 0) return NULL;
    return p;
}

static void ik_system_free(void *pointer, size_t bytes) {
    if (bytes >= IK_MAP_MIN) munmap(pointer, bytes);
    else free(pointer);
}

// Removes slot i, keeping the others in age order. Caller holds cache_lock.
static void remove_slot(int i) {
    memmove(&slot_size[i], &slot_size[i + 1], (size_t)(slot_count - i - 1) * sizeof slot_size[0]);
    memmove(&slot_pointer[i], &slot_pointer[i + 1], (size_t)(slot_count - i - 1) * sizeof slot_pointer[0]);
    slot_count--;
}

#define IK_LOCAL_SLOTS 8
static __thread size_t local_size[IK_LOCAL_SLOTS];
static __thread void *local_pointer[IK_LOCAL_SLOTS];
static __thread int local_count = 0;

// When a thread ends, its local buffers go to the shared cache (or back to the system).
static pthread_key_t local_key;
static pthread_once_t local_key_once = PTHREAD_ONCE_INIT;

static void ik_flush_local(void *unused) {
    (void)unused;
    for (int i = 0; i < local_count; i++) ik_buffer_release_shared(local_pointer[i], local_size[i]);
    local_count = 0;
}

static void ik_make_local_key(void) { pthread_key_create(&local_key, ik_flush_local); }

void *ik_buffer_allocate(size_t bytes) {
    for (int i = local_count - 1; i >= 0; i--) {
        if (local_size[i] == bytes) {
            void *p = local_pointer[i];
            local_count--;
            local_size[i] = local_size[local_count];
            local_pointer[i] = local_pointer[local_count];
            return p;
        }
    }
    pthread_mutex_lock(&cache_lock);
    for (int i = slot_count - 1; i >= 0; i--) {
        if (slot_size[i] == bytes) {
            void *p = slot_pointer[i];
            remove_slot(i);
            idle_bytes -= bytes;
            pthread_mutex_unlock(&cache_lock);
            return p;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    return ik_system_allocate(bytes);
}

void ik_buffer_release(void *pointer, size_t bytes) {
    if (bytes <= (1u << 20)) {
        if (local_count == IK_LOCAL_SLOTS) {
            // Hand the oldest local buffer to the shared cache to make room.
            void *old = local_pointer[0];
            size_t oldBytes = local_size[0];
            for (int i = 1; i < IK_LOCAL_SLOTS; i++) { local_pointer[i - 1] = local_pointer[i]; local_size[i - 1] = local_size[i]; }
            local_count--;
            ik_buffer_release_shared(old, oldBytes);
        }
        if (local_count == 0) {
            // Registers the flush for this thread (the value only needs to be non-null).
            pthread_once(&local_key_once, ik_make_local_key);
            pthread_setspecific(local_key, (void *)1);
        }
        local_pointer[local_count] = pointer;
        local_size[local_count] = bytes;
        local_count++;
        return;
    }
    ik_buffer_release_shared(pointer, bytes);
}

static void ik_buffer_release_shared(void *pointer, size_t bytes) {
    pthread_once(&capacity_once, ik_read_capacity);
    if (bytes > capacity_bytes) {
        ik_system_free(pointer, bytes);
        return;
    }
    void *evicted[IK_CACHE_SLOTS];
    size_t evictedSize[IK_CACHE_SLOTS];
    int evictedCount = 0;
    pthread_mutex_lock(&cache_lock);
    while (slot_count > 0 && (slot_count == IK_CACHE_SLOTS || idle_bytes + bytes > capacity_bytes)) {
        evictedSize[evictedCount] = slot_size[0];
        evicted[evictedCount++] = slot_pointer[0];
        idle_bytes -= slot_size[0];
        remove_slot(0);
    }
    slot_size[slot_count] = bytes;
    slot_pointer[slot_count] = pointer;
    slot_count++;
    idle_bytes += bytes;
    pthread_mutex_unlock(&cache_lock);
    for (int i = 0; i < evictedCount; i++) ik_system_free(evicted[i], evictedSize[i]);
}

void ik_buffer_purge(void) {
    ik_flush_local(NULL);
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < slot_count; i++) ik_system_free(slot_pointer[i], slot_size[i]);
    slot_count = 0;
    idle_bytes = 0;
    pthread_mutex_unlock(&cache_lock);
}

size_t ik_buffer_idle_bytes(void) {
    pthread_mutex_lock(&cache_lock);
    size_t b = idle_bytes;
    pthread_mutex_unlock(&cache_lock);
    return b;
}

int ik_buffer_holds(size_t bytes) {
    for (int i = 0; i < local_count; i++) if (local_size[i] == bytes) return 1;
    pthread_mutex_lock(&cache_lock);
    int found = 0;
    for (int i = 0; i < slot_count && !found; i++) found = slot_size[i] == bytes;
    pthread_mutex_unlock(&cache_lock);
    return found;
}

void ik_buffer_set_capacity(size_t bytes) {
    pthread_once(&capacity_once, ik_read_capacity);
    void *evicted[IK_CACHE_SLOTS];
    size_t evictedSize[IK_CACHE_SLOTS];
    int evictedCount = 0;
    pthread_mutex_lock(&cache_lock);
    capacity_bytes = bytes;
    while (slot_count > 0 && idle_bytes > capacity_bytes) {
        evictedSize[evictedCount] = slot_size[0];
        evicted[evictedCount++] = slot_pointer[0];
        idle_bytes -= slot_size[0];
        remove_slot(0);
    }
    pthread_mutex_unlock(&cache_lock);
    for (int i = 0; i < evictedCount; i++) ik_system_free(evicted[i], evictedSize[i]);
}

size_t ik_buffer_capacity(void) {
    pthread_once(&capacity_once, ik_read_capacity);
    pthread_mutex_lock(&cache_lock);
    size_t b = capacity_bytes;
    pthread_mutex_unlock(&cache_lock);
    return b;
}
