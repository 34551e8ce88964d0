// shim.h: the project's own thin layer over libxml2 for package xsd.
//
// It is the process's one binding to libxml2. It uses the structured error
// callbacks (libxml2's old text callback gives no line or column), hooks the
// parser to refuse a DOCTYPE before any of it is processed, and records where
// each element's start tag begins so a violation can be given a line and a
// column.
//
// Every function is safe to call from many threads at once, provided
// kp_init has been called first (package xsd does so before the first
// schema is compiled).

#ifndef KNOOPPUNT_XSD_SHIM_H
#define KNOOPPUNT_XSD_SHIM_H

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>

// KP_MSG_MAX bounds the bytes kept of one libxml2 message.
#define KP_MSG_MAX 2048
// KP_VALUE_MAX bounds the bytes kept of an offending value (for redaction).
#define KP_VALUE_MAX 1024

// kp_issue is one error libxml2 reported.
typedef struct {
	int code;     // libxml2 error code (xmlParserErrors)
	int line;     // line libxml2 gave, 0 if none
	int col;      // column libxml2 gave, 0 if none
	long offset;  // byte offset of the offending element's '<', -1 if unknown
	char *msg;    // malloc'ed, at most KP_MSG_MAX bytes
	char *value;  // malloc'ed text of the offending node, or NULL
} kp_issue;

// kp_issues collects the first max issues and counts all of them.
typedef struct {
	kp_issue *items;
	int n;
	int max;
	long total;
} kp_issues;

// kp_init initialises libxml2 and, when kp_arena_decide allows it for the
// loaded library, reserves the arenas' address range and installs the arena
// allocator (arena.c); otherwise libxml2 stays on malloc. Call it once,
// before anything else.
void kp_init(void);

// Outcomes of kp_arena_decide and kp_arena_state.
enum {
	KP_ARENA_ON,              // the arena allocator is installed
	KP_ARENA_HEADERS_VERSION, // compiled against headers other than 2.9.x
	KP_ARENA_RUNTIME_VERSION, // the loaded libxml2 is not 2.9.x
	KP_ARENA_NO_RANGE,        // the address range could not be reserved
	KP_ARENA_NOT_INIT,        // kp_init has not run
};

// kp_arena_decide says whether the arena allocator may be installed on the
// libxml2 of version runtime (LIBXML_VERSION form, e.g. 20914) when the shim
// was compiled against the headers of version compiled: KP_ARENA_ON for the
// 2.9 series it was written for, or the reason it may not.
int kp_arena_decide(long runtime, long compiled);

// kp_arena_state returns kp_init's outcome and stores the loaded libxml2's
// version in *runtime (0 before kp_init).
int kp_arena_state(long *runtime);

// kp_arena holds the memory libxml2 allocates for one document.
typedef struct kp_arena kp_arena;

// kp_arena_new returns an empty arena, or NULL when arenas are unavailable
// (libxml2 then uses malloc).
kp_arena *kp_arena_new(void);

// kp_arena_use sends this thread's libxml2 allocations to a until it is
// called again with NULL.
void kp_arena_use(kp_arena *a);

// kp_arena_free gives a's memory back; nothing in it may be used after.
void kp_arena_free(kp_arena *a);

// kp_arenas_set switches arenas on (the default) or off for documents
// parsed from now on (for tests).
void kp_arenas_set(int on);

// kp_arena_stats reports the chunks taken from the reserved range so far and
// how many of them are free, resident (warm) or given back (cold).
void kp_arena_stats(long *taken, long *warm, long *cold);

#ifdef KP_ARENA_DEBUG
// kp_arena_counts are the checks of a KP_ARENA_DEBUG build.
typedef struct {
	long arenas;       // arenas not yet freed
	long chunks;       // chunks held by arenas
	long unfreed;      // blocks libxml2 had not freed when their arena was
	long double_freed; // blocks freed or reallocated after being freed
	long poison;       // free chunks found written to when handed out again
} kp_arena_counts;

// kp_arena_debug reads the counters.
void kp_arena_debug(kp_arena_counts *out);

// kp_arena_debug_misuse commits one of each misuse the checks catch: a
// block freed twice, a block never freed and a free chunk written to. Run
// it while no document is being parsed or validated.
void kp_arena_debug_misuse(void);
#endif

// kp_parsed is the outcome of kp_parse.
typedef struct {
	xmlDocPtr doc;     // the document, or NULL when refused
	int doctype;       // 1: a DOCTYPE was met and parsing stopped
	int stopped;       // 1: a stop flag was set and parsing stopped
	xmlNodePtr root;   // root element of doc
	const char *root_name;
	const char *root_ns; // namespace of the root element, NULL if none
} kp_parsed;

// Header fields kp_header finds, in this order.
enum {
	KP_H_BERICHTCODE,
	KP_H_AFZENDER,
	KP_H_ONTVANGER,
	KP_H_IDENTIFICATIE,
	KP_H_DAGTEKENING,
	KP_H_BASISSCHEMA_XSD_VERSIE,
	KP_H_BERICHT_XSD_VERSIE,
	KP_H_IDENTIFICATIE_RETOUR,
	KP_H_DAGTEKENING_RETOUR,
	KP_H_DECLARATIE_IDENTIFICATIE,
	KP_H_DECLARATIE_DAGTEKENING,
	KP_H_COUNT
};

// kp_parse parses buf as a document, never touching the network, never
// substituting entities, and stopping at a DOCTYPE. Parse errors go to errs.
// The document lives in its own arena: free it with kp_doc_free only.
// stop_a and stop_b, each NULL or a flag another thread may set, are read
// at every start tag: once either is non-zero the parser stops there and
// out->stopped is set, so a caller can abandon a parse within one element.
void kp_parse(const char *buf, int len, kp_parsed *out, kp_issues *errs,
	      const volatile int *stop_a, const volatile int *stop_b);

// kp_doc_free frees a document from kp_parse and its arena.
void kp_doc_free(xmlDocPtr doc);

// kp_header finds the header elements of doc's root, whose children are in
// namespace ns and whose BerichtIdentificatie/XsdVersie children are in basis.
void kp_header(xmlNodePtr root, const char *ns, const char *basis, xmlNodePtr nodes[KP_H_COUNT]);

// kp_text returns the text of an element as a malloc'ed string, or NULL.
char *kp_text(xmlNodePtr node);

// kp_validate validates doc against schema; violations go to errs. It returns
// 0 when valid, a positive number when invalid, -1 on an internal error.
int kp_validate(xmlSchemaPtr schema, xmlDocPtr doc, kp_issues *errs);

// kp_compile compiles the schema in file path. On failure it returns NULL
// and the first problem libxml2 reported in errs.
xmlSchemaPtr kp_compile(const char *path, kp_issues *errs);

// kp_target_namespace returns the target namespace of a compiled schema.
const char *kp_target_namespace(xmlSchemaPtr schema);

// kp_issues_free frees what errs holds (not errs itself).
void kp_issues_free(kp_issues *errs);

#endif
