// shim.c: see shim.h.

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/SAX2.h>
#include <libxml/parserInternals.h>
#include <libxml/schemasInternals.h>
#include <libxml/xmlerror.h>

#include "shim.h"

// Parse options: no network, no entity substitution, no DTD loading, no
// printing to stderr, the encoding declaration ignored (package xsd accepts
// UTF-8 only and checks the declaration itself), CDATA merged into text and
// small text nodes stored compactly.
#define KP_PARSE_OPTIONS                                                     \
	(XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |         \
	 XML_PARSE_IGNORE_ENC | XML_PARSE_NOCDATA | XML_PARSE_COMPACT)

static char *kp_strndup(const char *s, size_t max) {
	if (s == NULL) {
		return NULL;
	}
	size_t n = strnlen(s, max);
	char *p = malloc(n + 1);
	if (p == NULL) {
		return NULL;
	}
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

// kp_value returns the text an error may quote: an attribute's value or the
// text of an element without element children.
static char *kp_value(xmlNodePtr node) {
	if (node->type == XML_ELEMENT_NODE) {
		for (xmlNodePtr c = node->children; c != NULL; c = c->next) {
			if (c->type == XML_ELEMENT_NODE) {
				return NULL;
			}
		}
	} else if (node->type != XML_ATTRIBUTE_NODE) {
		return NULL;
	}
	xmlChar *v = xmlNodeGetContent(node);
	if (v == NULL) {
		return NULL;
	}
	char *p = kp_strndup((const char *)v, KP_VALUE_MAX);
	xmlFree(v);
	return p;
}

// kp_add records err in errs if it is at least as severe as min.
static void kp_add(kp_issues *errs, xmlErrorPtr err, int min) {
	if (errs == NULL || err == NULL || (int)err->level < min) {
		return;
	}
	errs->total++;
	if (errs->n >= errs->max) {
		return;
	}
	if (errs->items == NULL) {
		errs->items = calloc((size_t)errs->max, sizeof(kp_issue));
		if (errs->items == NULL) {
			return;
		}
	}
	kp_issue *it = &errs->items[errs->n++];
	it->code = err->code;
	it->line = err->line;
	it->col = err->int2;
	it->offset = -1;
	it->msg = kp_strndup(err->message, KP_MSG_MAX);
	it->value = NULL;
	xmlNodePtr node = err->node;
	if (node == NULL) {
		return;
	}
	it->value = kp_value(node);
	if (node->type == XML_ATTRIBUTE_NODE) {
		node = node->parent;
	}
	if (node != NULL && node->type == XML_ELEMENT_NODE && node->_private != NULL) {
		it->offset = (long)(intptr_t)node->_private - 1;
	}
}

// kp_pstate is the parser's private state, hung on ctxt->_private.
typedef struct {
	kp_issues *errs;
	int doctype;
	int stopped;
	const volatile int *stop_a, *stop_b;
} kp_pstate;

static void kp_parse_error(void *data, xmlErrorPtr err) {
	xmlParserCtxtPtr ctxt = data;
	if (ctxt != NULL && ctxt->_private != NULL) {
		kp_add(((kp_pstate *)ctxt->_private)->errs, err, XML_ERR_ERROR);
	}
}

// kp_internal_subset stops the parser at a DOCTYPE, before its internal
// subset is read: no entity is ever declared, so none can be expanded.
static void kp_internal_subset(void *ctx, const xmlChar *name, const xmlChar *external_id,
			       const xmlChar *system_id) {
	(void)name;
	(void)external_id;
	(void)system_id;
	xmlParserCtxtPtr ctxt = ctx;
	if (ctxt->_private != NULL) {
		((kp_pstate *)ctxt->_private)->doctype = 1;
	}
	xmlStopParser(ctxt);
}

// kp_start_element builds the element as libxml2 does, then stores the byte
// offset (plus one) of its start tag's '<' in the node's _private field, which
// libxml2 leaves to the application. The parser stands at the end of the start
// tag; an attribute value cannot hold a '<', so the last '<' before it is the
// tag's own.
static void kp_start_element(void *ctx, const xmlChar *localname, const xmlChar *prefix,
			     const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
			     int nb_attributes, int nb_defaulted, const xmlChar **attributes) {
	xmlParserCtxtPtr ctxt = ctx;
	kp_pstate *st = ctxt->_private;
	if (st != NULL && ((st->stop_a != NULL && *st->stop_a) || (st->stop_b != NULL && *st->stop_b))) {
		st->stopped = 1;
		xmlStopParser(ctxt);
		return;
	}
	xmlNodePtr parent = ctxt->node;
	xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
			      nb_defaulted, attributes);
	xmlNodePtr node = ctxt->node;
	xmlParserInputPtr in = ctxt->input;
	if (node == NULL || node == parent || node->type != XML_ELEMENT_NODE || in == NULL ||
	    in->base == NULL || in->cur == NULL || (in->buf != NULL && in->buf->encoder != NULL)) {
		return;
	}
	const xmlChar *p = in->cur;
	while (p > in->base && *p != '<') {
		p--;
	}
	if (*p != '<') {
		return;
	}
	node->_private = (void *)(intptr_t)((long)in->consumed + (long)(p - in->base) + 1);
}

// kp_parse_in is kp_parse inside the document's arena.
static void kp_parse_in(const char *buf, int len, kp_parsed *out, kp_issues *errs,
			const volatile int *stop_a, const volatile int *stop_b) {
	xmlParserCtxtPtr ctxt = xmlCreateMemoryParserCtxt(buf, len);
	if (ctxt == NULL) {
		return;
	}
	kp_pstate st = {errs, 0, 0, stop_a, stop_b};
	xmlCtxtUseOptions(ctxt, KP_PARSE_OPTIONS);
	ctxt->_private = &st;
	ctxt->sax->serror = kp_parse_error;
	ctxt->sax->internalSubset = kp_internal_subset;
	ctxt->sax->startElementNs = kp_start_element;

	xmlParseDocument(ctxt);

	xmlDocPtr doc = ctxt->myDoc;
	int ok = ctxt->wellFormed && ctxt->nsWellFormed && !st.doctype && !st.stopped && doc != NULL;
	ctxt->myDoc = NULL;
	ctxt->_private = NULL;
	xmlFreeParserCtxt(ctxt);
	out->doctype = st.doctype;
	out->stopped = st.stopped;
	if (!ok) {
		if (doc != NULL) {
			xmlFreeDoc(doc);
		}
		return;
	}
	xmlNodePtr root = xmlDocGetRootElement(doc);
	if (root == NULL) {
		xmlFreeDoc(doc);
		return;
	}
	out->doc = doc;
	out->root = root;
	out->root_name = (const char *)root->name;
	if (root->ns != NULL) {
		out->root_ns = (const char *)root->ns->href;
	}
}

void kp_parse(const char *buf, int len, kp_parsed *out, kp_issues *errs,
	      const volatile int *stop_a, const volatile int *stop_b) {
	memset(out, 0, sizeof(*out));
	kp_arena *arena = kp_arena_new();
	kp_arena_use(arena);
	kp_parse_in(buf, len, out, errs, stop_a, stop_b);
	kp_arena_use(NULL);
	if (out->doc == NULL) {
		kp_arena_free(arena);
		return;
	}
	out->doc->_private = arena;
}

void kp_doc_free(xmlDocPtr doc) {
	if (doc == NULL) {
		return;
	}
	kp_arena *arena = doc->_private;
	kp_arena_use(NULL); // on this thread too, xmlFree must know arena blocks
	xmlFreeDoc(doc);
	kp_arena_free(arena);
}

static int kp_is(xmlNodePtr n, const char *name, const char *ns) {
	return n->type == XML_ELEMENT_NODE && n->ns != NULL && n->ns->href != NULL &&
	       strcmp((const char *)n->name, name) == 0 &&
	       strcmp((const char *)n->ns->href, ns) == 0;
}

static void kp_pair(xmlNodePtr parent, const char *a, const char *b, const char *ns,
		    xmlNodePtr *na, xmlNodePtr *nb) {
	for (xmlNodePtr c = parent->children; c != NULL; c = c->next) {
		if (*na == NULL && kp_is(c, a, ns)) {
			*na = c;
		} else if (*nb == NULL && kp_is(c, b, ns)) {
			*nb = c;
		}
	}
}

void kp_header(xmlNodePtr root, const char *ns, const char *basis, xmlNodePtr nodes[KP_H_COUNT]) {
	memset(nodes, 0, sizeof(xmlNodePtr) * KP_H_COUNT);
	xmlNodePtr h = NULL;
	for (xmlNodePtr c = root->children; c != NULL; c = c->next) {
		if (c->type == XML_ELEMENT_NODE) {
			if (kp_is(c, "Header", ns)) {
				h = c;
			}
			break;
		}
	}
	if (h == NULL) {
		return;
	}
	static const struct {
		const char *name;
		int field;
	} simple[] = {
	    {"BerichtCode", KP_H_BERICHTCODE},
	    {"Afzender", KP_H_AFZENDER},
	    {"Ontvanger", KP_H_ONTVANGER},
	    {"IdentificatieRetour", KP_H_IDENTIFICATIE_RETOUR},
	    {"DagtekeningRetour", KP_H_DAGTEKENING_RETOUR},
	};
	for (xmlNodePtr c = h->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE) {
			continue;
		}
		for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
			if (nodes[simple[i].field] == NULL && kp_is(c, simple[i].name, ns)) {
				nodes[simple[i].field] = c;
			}
		}
		if (nodes[KP_H_IDENTIFICATIE] == NULL && nodes[KP_H_DAGTEKENING] == NULL &&
		    kp_is(c, "BerichtIdentificatie", ns)) {
			kp_pair(c, "Identificatie", "Dagtekening", basis,
				&nodes[KP_H_IDENTIFICATIE], &nodes[KP_H_DAGTEKENING]);
		} else if (nodes[KP_H_BASISSCHEMA_XSD_VERSIE] == NULL &&
			   nodes[KP_H_BERICHT_XSD_VERSIE] == NULL && kp_is(c, "XsdVersie", ns)) {
			kp_pair(c, "BasisschemaXsdVersie", "BerichtXsdVersie", basis,
				&nodes[KP_H_BASISSCHEMA_XSD_VERSIE], &nodes[KP_H_BERICHT_XSD_VERSIE]);
		} else if (nodes[KP_H_DECLARATIE_IDENTIFICATIE] == NULL &&
			   nodes[KP_H_DECLARATIE_DAGTEKENING] == NULL &&
			   kp_is(c, "DeclaratieIdentificatie", ns)) {
			kp_pair(c, "Identificatie", "Dagtekening", basis,
				&nodes[KP_H_DECLARATIE_IDENTIFICATIE],
				&nodes[KP_H_DECLARATIE_DAGTEKENING]);
		}
	}
}

char *kp_text(xmlNodePtr node) {
	xmlChar *v = xmlNodeGetContent(node);
	if (v == NULL) {
		return NULL;
	}
	char *p = strdup((const char *)v);
	xmlFree(v);
	return p;
}

static void kp_valid_error(void *data, xmlErrorPtr err) { kp_add(data, err, XML_ERR_ERROR); }

int kp_validate(xmlSchemaPtr schema, xmlDocPtr doc, kp_issues *errs) {
	kp_arena_use(doc->_private); // the validation's own blocks go with the document
	int rc = -1;
	xmlSchemaValidCtxtPtr v = xmlSchemaNewValidCtxt(schema);
	if (v != NULL) {
		xmlSchemaSetValidStructuredErrors(v, kp_valid_error, errs);
		rc = xmlSchemaValidateDoc(v, doc);
		xmlSchemaFreeValidCtxt(v);
	}
	kp_arena_use(NULL);
	return rc;
}

static void kp_schema_error(void *data, xmlErrorPtr err) { kp_add(data, err, XML_ERR_WARNING); }

xmlSchemaPtr kp_compile(const char *path, kp_issues *errs) {
	xmlSchemaParserCtxtPtr p = xmlSchemaNewParserCtxt(path);
	if (p == NULL) {
		return NULL;
	}
	xmlSchemaSetParserStructuredErrors(p, kp_schema_error, errs);
	// The schema documents themselves are read by parsers that report to
	// this thread's global handler; catch those too, then restore it.
	xmlSetStructuredErrorFunc(errs, kp_schema_error);
	xmlSchemaPtr s = xmlSchemaParse(p);
	xmlSetStructuredErrorFunc(NULL, NULL);
	xmlSchemaFreeParserCtxt(p);
	return s;
}

const char *kp_target_namespace(xmlSchemaPtr schema) {
	return (const char *)schema->targetNamespace;
}

void kp_issues_free(kp_issues *errs) {
	if (errs->items != NULL) {
		for (int i = 0; i < errs->n; i++) {
			free(errs->items[i].msg);
			free(errs->items[i].value);
		}
		free(errs->items);
	}
	errs->items = NULL;
	errs->n = 0;
	errs->total = 0;
}
