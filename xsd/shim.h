// shim.h: the project's own thin layer over libxml2 for package xsd.
//
// The Go wrapper (lestrrat-go/libxml2) reports schema violations through
// libxml2's old text callback: no line, no column, at most 32 messages. This
// shim uses the structured error callbacks instead, hooks the parser to refuse
// a DOCTYPE before any of it is processed, and records where each element's
// start tag begins so a violation can be given a line and a column.
//
// Every function is safe to call from many threads at once, provided
// xmlInitParser has been called first (package xsd does so in Load).

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

// kp_parsed is the outcome of kp_parse.
typedef struct {
	xmlDocPtr doc;     // the document, or NULL when refused
	int doctype;       // 1: a DOCTYPE was met and parsing stopped
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
void kp_parse(const char *buf, int len, kp_parsed *out, kp_issues *errs);

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
