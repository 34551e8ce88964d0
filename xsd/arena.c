// arena.c: libxml2's memory for one document, taken from an arena and given
// back in one piece when the document is freed.
//
// Parsing a message and validating it make libxml2 allocate and free many
// small blocks (a node, a name, a value, a regexp state): malloc and free
// took about a fifth of the validation's time. While one of the shim's
// entry points works on a document, this thread's libxml2 allocator takes
// blocks from that document's arena by bumping a pointer, and xmlFree of an
// arena block does nothing; kp_doc_free releases the arena's chunks all at
// once.
//
// Arena chunks come from one reserved address range, so xmlFree can tell an
// arena block from a malloc'ed one by its address alone, on any thread and
// whatever arena it belongs to. Outside an arena (schema compilation, the Go
// wrapper's own documents, libxml2's globals) and for blocks too big for a
// chunk, the allocator is plain malloc, so memory allocated before it was
// installed is still freed correctly.

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <libxml/xmlerror.h>
#include <libxml/xmlmemory.h>

#include "shim.h"

enum {
	KP_CHUNK = 64 << 10,        // bytes of one chunk
	KP_CHUNKS = 16384,          // chunks in the reserved range (1 GiB)
	KP_BIG = KP_CHUNK / 4,      // blocks above this come from malloc
	KP_WARM = 512,              // free chunks kept resident (32 MiB)
	KP_ALIGN = 16,              // the alignment malloc gives
	KP_HEAD = 16,               // a block's size, stored before it (aligned)
};

// kp_chunk starts each chunk; blocks follow it.
typedef struct kp_chunk {
	struct kp_chunk *next;
	size_t used;
} kp_chunk;

struct kp_arena {
	kp_chunk *chunks; // newest first; blocks come from the first
};

static char *kp_region;       // the reserved range, NULL if mmap failed
static size_t kp_region_next; // chunks of the range handed out so far
static kp_chunk *kp_warm;     // free chunks still resident
static int kp_nwarm;
static kp_chunk *kp_cold;     // free chunks given back to the kernel
static pthread_mutex_t kp_chunk_mu = PTHREAD_MUTEX_INITIALIZER;
static int kp_arenas_off;     // set by tests to compare with plain malloc

// kp_current is the arena this thread's libxml2 allocations go to, set only
// inside an entry point working on a document.
static __thread kp_arena *kp_current;
// kp_thread_ready: this thread's libxml2 allocator is the arena's.
static __thread int kp_thread_ready;

static int kp_in_region(const void *p) {
	return kp_region != NULL && (const char *)p >= kp_region &&
	       (const char *)p < kp_region + (size_t)KP_CHUNKS * KP_CHUNK;
}

static kp_chunk *kp_chunk_get(void) {
	kp_chunk *c = NULL;
	int fresh = 0;
	pthread_mutex_lock(&kp_chunk_mu);
	if (kp_warm != NULL) {
		c = kp_warm;
		kp_warm = c->next;
		kp_nwarm--;
	} else if (kp_cold != NULL) {
		c = kp_cold;
		kp_cold = c->next;
	} else if (kp_region != NULL && kp_region_next < KP_CHUNKS) {
		c = (kp_chunk *)(kp_region + kp_region_next * KP_CHUNK);
		kp_region_next++;
		fresh = 1;
	}
	pthread_mutex_unlock(&kp_chunk_mu);
	// The range is reserved without access, so that only chunks in use
	// count against the kernel's commit limit; a chunk it refuses is
	// skipped and the block comes from malloc.
	if (fresh && mprotect(c, KP_CHUNK, PROT_READ | PROT_WRITE) != 0) {
		return NULL;
	}
	return c;
}

static void kp_chunk_put(kp_chunk *c) {
	pthread_mutex_lock(&kp_chunk_mu);
	int warm = kp_nwarm < KP_WARM;
	if (warm) {
		c->next = kp_warm;
		kp_warm = c;
		kp_nwarm++;
	}
	pthread_mutex_unlock(&kp_chunk_mu);
	if (warm) {
		return;
	}
	// Past the resident reserve (after a very large message): give the
	// pages back; the chunk reads as zeroes when it is used again.
	madvise(c, KP_CHUNK, MADV_DONTNEED);
	pthread_mutex_lock(&kp_chunk_mu);
	c->next = kp_cold;
	kp_cold = c;
	pthread_mutex_unlock(&kp_chunk_mu);
}

// kp_arena_take returns n bytes from a, or NULL when n is too big for a
// chunk or no chunk is left (the caller then uses malloc).
static void *kp_arena_take(kp_arena *a, size_t n) {
	if (n > KP_BIG) {
		return NULL;
	}
	size_t need = KP_HEAD + ((n + KP_ALIGN - 1) & ~(size_t)(KP_ALIGN - 1));
	kp_chunk *c = a->chunks;
	if (c == NULL || c->used + need > KP_CHUNK) {
		c = kp_chunk_get();
		if (c == NULL) {
			return NULL;
		}
		c->next = a->chunks;
		c->used = (sizeof(kp_chunk) + KP_ALIGN - 1) & ~(size_t)(KP_ALIGN - 1);
		a->chunks = c;
	}
	char *p = (char *)c + c->used;
	c->used += need;
	*(size_t *)p = n;
	return p + KP_HEAD;
}

static void *kp_malloc(size_t n) {
	kp_arena *a = kp_current;
	if (a != NULL) {
		void *p = kp_arena_take(a, n);
		if (p != NULL) {
			return p;
		}
	}
	return malloc(n);
}

static void kp_free(void *p) {
	if (p != NULL && !kp_in_region(p)) {
		free(p);
	}
}

static void *kp_realloc(void *p, size_t n) {
	if (p == NULL) {
		return kp_malloc(n);
	}
	if (!kp_in_region(p)) {
		return realloc(p, n);
	}
	size_t old = *(size_t *)((char *)p - KP_HEAD);
	if (n <= old) {
		return p;
	}
	void *q = kp_malloc(n);
	if (q != NULL) {
		memcpy(q, p, old);
	}
	return q;
}

static char *kp_strdup(const char *s) {
	size_t n = strlen(s) + 1;
	char *p = kp_malloc(n);
	if (p != NULL) {
		memcpy(p, s, n);
	}
	return p;
}

// kp_thread_setup installs the allocator for this thread: libxml2 built
// with LIBXML_THREAD_ALLOC_ENABLED (as Debian's is) keeps its allocator per
// thread, so each thread sets its own, once. Every entry point that can
// allocate or free an arena block calls it first.
static void kp_thread_setup(void) {
	if (!kp_thread_ready) {
		xmlMemSetup(kp_free, kp_malloc, kp_realloc, kp_strdup);
		kp_thread_ready = 1;
	}
}

void kp_init(void) {
	void *r = mmap(NULL, (size_t)KP_CHUNKS * KP_CHUNK, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	kp_region = r == MAP_FAILED ? NULL : r;
	kp_thread_setup();
	xmlInitParser();
}

kp_arena *kp_arena_new(void) {
	if (kp_region == NULL || __atomic_load_n(&kp_arenas_off, __ATOMIC_RELAXED)) {
		return NULL;
	}
	return calloc(1, sizeof(kp_arena));
}

void kp_arenas_set(int on) { __atomic_store_n(&kp_arenas_off, !on, __ATOMIC_RELAXED); }

void kp_arena_use(kp_arena *a) {
	kp_thread_setup();
	if (a == NULL && kp_current != NULL) {
		// Leaving: the thread's last-error record may quote arena
		// blocks; clear it before they can be handed out again.
		xmlResetLastError();
	}
	kp_current = a;
}

void kp_arena_free(kp_arena *a) {
	if (a == NULL) {
		return;
	}
	for (kp_chunk *c = a->chunks, *next; c != NULL; c = next) {
		next = c->next;
		kp_chunk_put(c);
	}
	free(a);
}

void kp_arena_stats(long *taken, long *warm, long *cold) {
	pthread_mutex_lock(&kp_chunk_mu);
	*taken = (long)kp_region_next;
	*warm = kp_nwarm;
	long n = 0;
	for (const kp_chunk *c = kp_cold; c != NULL; c = c->next) {
		n++;
	}
	*cold = n;
	pthread_mutex_unlock(&kp_chunk_mu);
}
