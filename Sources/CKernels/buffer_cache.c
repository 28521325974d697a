// A cache of freed tensor buffers, keyed by exact size.
//
// Forward passes allocate the same activation sizes again and again. Handing a freed buffer of
// the same size back avoids malloc's bookkeeping and, for large buffers, the page faults and
// zero-filling of fresh pages from the kernel. The cache holds at most IK_CACHE_SLOTS buffers and
// `capacity` bytes; beyond that buffers go back to the system. A small per-thread cache of recent
// buffers sits in front of the shared one, so the common allocate-free-allocate pattern of one
// thread takes no lock.
#include "CKernels.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define IK_CACHE_SLOTS 256

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t slot_size[IK_CACHE_SLOTS];
static void *slot_pointer[IK_CACHE_SLOTS];
static int slot_count = 0;
static size_t idle_bytes = 0;
static size_t capacity_bytes = (size_t)2 << 30;

static void ik_buffer_release_shared(void *pointer, size_t bytes);

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
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes < 64 ? 64 : bytes) != 0) return NULL;
    return p;
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
    if (bytes > capacity_bytes) {
        free(pointer);
        return;
    }
    void *evicted[IK_CACHE_SLOTS];
    int evictedCount = 0;
    pthread_mutex_lock(&cache_lock);
    while (slot_count > 0 && (slot_count == IK_CACHE_SLOTS || idle_bytes + bytes > capacity_bytes)) {
        evicted[evictedCount++] = slot_pointer[0];
        idle_bytes -= slot_size[0];
        remove_slot(0);
    }
    slot_size[slot_count] = bytes;
    slot_pointer[slot_count] = pointer;
    slot_count++;
    idle_bytes += bytes;
    pthread_mutex_unlock(&cache_lock);
    for (int i = 0; i < evictedCount; i++) free(evicted[i]);
}

void ik_buffer_purge(void) {
    ik_flush_local(NULL);
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < slot_count; i++) free(slot_pointer[i]);
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
    pthread_mutex_lock(&cache_lock);
    capacity_bytes = bytes;
    pthread_mutex_unlock(&cache_lock);
}
