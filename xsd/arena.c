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
// whatever arena it belongs to. Outside an arena (schema compilation,
// libxml2's globals) and for blocks too big for a chunk, the allocator is
// plain malloc, so memory allocated before it was installed is still freed
// correctly.
//
// The allocator is installed only on the libxml2 series it was written and
// tested for, 2.9.x (kp_arena_decide): it swaps libxml2's allocator with
// xmlMemSetup after initialisation and relies on every block of a document
// being reachable only through that document until it is freed, which later
// series, with their reworked global and per-thread state, were never
// checked for. On any other libxml2, kp_init leaves libxml2 on malloc and
// kp_arena_state says why.
//
// Built with KP_ARENA_DEBUG (Go build tag kparenadebug), freed blocks and
// chunks are filled with KP_POISON, a chunk handed out again must still hold
// its poison, and counters (kp_arena_debug) track live arenas and chunks,
// blocks libxml2 never freed, blocks freed twice and poison found damaged.

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <libxml/globals.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlmemory.h>
#include <libxml/xmlversion.h>

#include "shim.h"

enum {
	KP_CHUNK = 64 << 10,        // bytes of one chunk
	KP_CHUNKS = 16384,          // chunks in the reserved range (1 GiB)
	KP_BIG = KP_CHUNK / 4,      // blocks above this come from malloc
	KP_WARM = 512,              // free chunks kept resident (32 MiB)
	KP_ALIGN = 16,              // the alignment malloc gives
	KP_HEAD = 16,               // a block's size, stored before it (aligned)
};

// The libxml2 versions the allocator was written for, in LIBXML_VERSION
// form: 2.9.0 up to, not including, 2.10.0.
enum {
	KP_ARENA_MIN_VERSION = 20900,
	KP_ARENA_END_VERSION = 21000,
};

// kp_chunk starts each chunk; blocks follow it.
typedef struct kp_chunk {
	struct kp_chunk *next;
	size_t used;
} kp_chunk;

struct kp_arena {
	kp_chunk *chunks; // newest first; blocks come from the first
#ifdef KP_ARENA_DEBUG
	long live; // blocks taken and not yet freed
#endif
};

static char *kp_region;       // the reserved range, NULL if mmap failed
static size_t kp_region_next; // chunks of the range handed out so far
static kp_chunk *kp_warm;     // free chunks still resident
static int kp_nwarm;
static kp_chunk *kp_cold;     // free chunks given back to the kernel
static pthread_mutex_t kp_chunk_mu = PTHREAD_MUTEX_INITIALIZER;
static int kp_arenas_off;     // set by tests to compare with plain malloc
static int kp_installed;      // kp_init installed the allocator
static int kp_why = KP_ARENA_NOT_INIT; // kp_init's decision (kp_arena_state)
static long kp_runtime_version;        // the loaded libxml2's LIBXML_VERSION

// kp_current is the arena this thread's libxml2 allocations go to, set only
// inside an entry point working on a document.
static __thread kp_arena *kp_current;
#ifdef LIBXML_THREAD_ALLOC_ENABLED
// kp_thread_ready: this thread's libxml2 allocator is the arena's.
static __thread int kp_thread_ready;
#endif

static int kp_in_region(const void *p) {
	return kp_region != NULL && (const char *)p >= kp_region &&
	       (const char *)p < kp_region + (size_t)KP_CHUNKS * KP_CHUNK;
}

#ifdef KP_ARENA_DEBUG
#include <stdio.h>

enum { KP_POISON = 0xDB }; // fills freed blocks and chunks
#define KP_FREED ((size_t)1 << 62) // set in a freed block's size

static long kp_dbg_arenas;   // arenas not yet freed
static long kp_dbg_chunks;   // chunks held by arenas
static long kp_dbg_unfreed;  // blocks libxml2 had not freed when their arena was
static long kp_dbg_double;   // blocks freed (or reallocated) after being freed
static long kp_dbg_poison;   // free chunks written to before being handed out again

static void kp_dbg_add(long *n, long d) { __atomic_add_fetch(n, d, __ATOMIC_RELAXED); }

// kp_dbg_poisoned checks that a free chunk still holds what it was left
// with: KP_POISON (warm) or zeroes (cold: its pages were given back).
static void kp_dbg_poisoned(kp_chunk *c, unsigned char want) {
	const unsigned char *p = (const unsigned char *)c + sizeof(kp_chunk);
	const unsigned char *end = (const unsigned char *)c + KP_CHUNK;
	for (; p < end; p++) {
		if (*p != want) {
			kp_dbg_add(&kp_dbg_poison, 1);
			fprintf(stderr, "xsd arena: free chunk %p written to at offset %ld\n", (void *)c,
				(long)(p - (const unsigned char *)c));
			return;
		}
	}
}
#endif

static kp_chunk *kp_chunk_get(void) {
	kp_chunk *c = NULL;
	int fresh = 0;
#ifdef KP_ARENA_DEBUG
	int cold = 0;
#endif
	pthread_mutex_lock(&kp_chunk_mu);
	if (kp_warm != NULL) {
		c = kp_warm;
		kp_warm = c->next;
		kp_nwarm--;
	} else if (kp_cold != NULL) {
		c = kp_cold;
		kp_cold = c->next;
#ifdef KP_ARENA_DEBUG
		cold = 1;
#endif
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
#ifdef KP_ARENA_DEBUG
	if (c != NULL) {
		if (!fresh) {
			kp_dbg_poisoned(c, cold ? 0 : KP_POISON);
		}
		kp_dbg_add(&kp_dbg_chunks, 1);
	}
#endif
	return c;
}

static void kp_chunk_put(kp_chunk *c) {
#ifdef KP_ARENA_DEBUG
	memset((char *)c + sizeof(kp_chunk), KP_POISON, KP_CHUNK - sizeof(kp_chunk));
	kp_dbg_add(&kp_dbg_chunks, -1);
#endif
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
#ifdef KP_ARENA_DEBUG
	// The second word of the head names the block's arena.
	((kp_arena **)p)[1] = a;
	kp_dbg_add(&a->live, 1);
#endif
	return p + KP_HEAD;
}

#ifdef KP_ARENA_DEBUG
// kp_dbg_release accounts for an arena block that libxml2 frees (or
// replaces by realloc) and poisons it. A head already marked freed, or
// poisoned or zeroed with its chunk, means the block was freed before.
static void kp_dbg_release(void *p) {
	size_t *head = (size_t *)((char *)p - KP_HEAD);
	kp_arena *owner = ((kp_arena **)head)[1];
	if ((head[0] & KP_FREED) || owner == NULL) {
		kp_dbg_add(&kp_dbg_double, 1);
		fprintf(stderr, "xsd arena: block %p freed twice\n", p);
		return;
	}
	memset(p, KP_POISON, head[0]);
	head[0] |= KP_FREED;
	kp_dbg_add(&owner->live, -1);
}
#endif

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
#ifdef KP_ARENA_DEBUG
	else if (p != NULL) {
		kp_dbg_release(p);
	}
#endif
}

static void *kp_realloc(void *p, size_t n) {
	if (p == NULL) {
		return kp_malloc(n);
	}
	if (!kp_in_region(p)) {
		return realloc(p, n);
	}
	size_t old = *(size_t *)((char *)p - KP_HEAD);
#ifdef KP_ARENA_DEBUG
	if (old & KP_FREED) {
		kp_dbg_add(&kp_dbg_double, 1);
		fprintf(stderr, "xsd arena: block %p reallocated after it was freed\n", p);
		old &= ~KP_FREED;
	}
#endif
	if (n <= old) {
		return p;
	}
	void *q = kp_malloc(n);
	if (q != NULL) {
		memcpy(q, p, old);
#ifdef KP_ARENA_DEBUG
		kp_dbg_release(p);
#endif
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

// kp_thread_setup installs the allocator for this thread where libxml2
// keeps one per thread (built with LIBXML_THREAD_ALLOC_ENABLED): each
// thread sets its own, once, and every entry point that can allocate or
// free an arena block calls this first. Built without it, as Debian's
// 2.9.14 is, the allocator is process-wide: kp_init installs it once and
// this does nothing.
static void kp_thread_setup(void) {
#ifdef LIBXML_THREAD_ALLOC_ENABLED
	if (!kp_thread_ready && kp_installed) {
		xmlMemSetup(kp_free, kp_malloc, kp_realloc, kp_strdup);
		kp_thread_ready = 1;
	}
#endif
}

int kp_arena_decide(long runtime, long compiled) {
	if (compiled < KP_ARENA_MIN_VERSION || compiled >= KP_ARENA_END_VERSION) {
		return KP_ARENA_HEADERS_VERSION;
	}
	if (runtime < KP_ARENA_MIN_VERSION || runtime >= KP_ARENA_END_VERSION) {
		return KP_ARENA_RUNTIME_VERSION;
	}
	return KP_ARENA_ON;
}

// kp_parse_version reads the LIBXML_VERSION number at the start of
// xmlParserVersion ("20914", possibly followed by a suffix); 0 if none.
static long kp_parse_version(const char *v) {
	long n = 0;
	for (int i = 0; v != NULL && v[i] >= '0' && v[i] <= '9' && i < 9; i++) {
		n = n * 10 + (v[i] - '0');
	}
	return n;
}

void kp_init(void) {
	xmlInitParser();
	// xmlParserVersion is the loaded library's own, which may differ from
	// the headers this file was compiled with.
	kp_runtime_version = kp_parse_version(xmlParserVersion);
	int why = kp_arena_decide(kp_runtime_version, LIBXML_VERSION);
	if (why == KP_ARENA_ON) {
		void *r = mmap(NULL, (size_t)KP_CHUNKS * KP_CHUNK, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (r == MAP_FAILED) {
			why = KP_ARENA_NO_RANGE;
		} else {
			kp_region = r;
			kp_installed = 1;
			xmlMemSetup(kp_free, kp_malloc, kp_realloc, kp_strdup);
#ifdef LIBXML_THREAD_ALLOC_ENABLED
			kp_thread_ready = 1;
#endif
		}
	}
	kp_why = why;
}

int kp_arena_state(long *runtime) {
	*runtime = kp_runtime_version;
	return kp_why;
}

kp_arena *kp_arena_new(void) {
	if (kp_region == NULL || __atomic_load_n(&kp_arenas_off, __ATOMIC_RELAXED)) {
		return NULL;
	}
#ifdef KP_ARENA_DEBUG
	kp_dbg_add(&kp_dbg_arenas, 1);
#endif
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
#ifdef KP_ARENA_DEBUG
	long live = __atomic_load_n(&a->live, __ATOMIC_RELAXED);
	if (live != 0) {
		kp_dbg_add(&kp_dbg_unfreed, live);
	}
	kp_dbg_add(&kp_dbg_arenas, -1);
#endif
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

#ifdef KP_ARENA_DEBUG
void kp_arena_debug(kp_arena_counts *out) {
	out->arenas = __atomic_load_n(&kp_dbg_arenas, __ATOMIC_RELAXED);
	out->chunks = __atomic_load_n(&kp_dbg_chunks, __ATOMIC_RELAXED);
	out->unfreed = __atomic_load_n(&kp_dbg_unfreed, __ATOMIC_RELAXED);
	out->double_freed = __atomic_load_n(&kp_dbg_double, __ATOMIC_RELAXED);
	out->poison = __atomic_load_n(&kp_dbg_poison, __ATOMIC_RELAXED);
}

void kp_arena_debug_misuse(void) {
	kp_arena *a = kp_arena_new();
	if (a == NULL) {
		return;
	}
	kp_arena_use(a);
	char *p = xmlMalloc(32);
	xmlMalloc(32); // never freed
	kp_arena_use(NULL);
	xmlFree(p);
	xmlFree(p);
	kp_arena_free(a);

	// A free chunk written to: take chunks until it comes back (it is on
	// the warm or the cold list), then return the others.
	kp_chunk *c = kp_chunk_get();
	if (c == NULL) {
		return;
	}
	kp_chunk_put(c);
	memset((char *)c + KP_CHUNK / 2, 0x55, 64);
	kp_chunk *others = NULL;
	for (;;) {
		kp_chunk *d = kp_chunk_get();
		if (d == NULL) {
			break;
		}
		if (d == c) {
			kp_chunk_put(c);
			break;
		}
		d->next = others;
		others = d;
	}
	while (others != NULL) {
		kp_chunk *next = others->next;
		kp_chunk_put(others);
		others = next;
	}
}
#endif
