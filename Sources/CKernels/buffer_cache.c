// A cache of freed tensor buffers, keyed by exact size.
//
// Forward passes allocate the same activation sizes again and again. Handing a freed buffer of
// the same size back avoids malloc's bookkeeping and, for large buffers, the page faults and
// zero-filling of fresh pages from the kernel. The cache holds at most IK_CACHE_SLOTS buffers and
// `capacity` bytes; beyond that buffers go back to the system.
#include "CKernels.h"
#include <pthread.h>
#include <stdlib.h>

#define IK_CACHE_SLOTS 256

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t slot_size[IK_CACHE_SLOTS];
static void *slot_pointer[IK_CACHE_SLOTS];
static int slot_count = 0;
static size_t idle_bytes = 0;
static size_t capacity_bytes = (size_t)2 << 30;

void *ik_buffer_allocate(size_t bytes) {
    pthread_mutex_lock(&cache_lock);
    for (int i = slot_count - 1; i >= 0; i--) {
        if (slot_size[i] == bytes) {
            void *p = slot_pointer[i];
            slot_count--;
            slot_size[i] = slot_size[slot_count];
            slot_pointer[i] = slot_pointer[slot_count];
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
    pthread_mutex_lock(&cache_lock);
    if (slot_count < IK_CACHE_SLOTS && idle_bytes + bytes <= capacity_bytes) {
        slot_size[slot_count] = bytes;
        slot_pointer[slot_count] = pointer;
        slot_count++;
        idle_bytes += bytes;
        pthread_mutex_unlock(&cache_lock);
        return;
    }
    pthread_mutex_unlock(&cache_lock);
    free(pointer);
}

void ik_buffer_purge(void) {
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

void ik_buffer_set_capacity(size_t bytes) {
    pthread_mutex_lock(&cache_lock);
    capacity_bytes = bytes;
    pthread_mutex_unlock(&cache_lock);
}
