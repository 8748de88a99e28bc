/* libxml2 glue for the REST backends' small reply documents (S3, Azure):
 * parse a reply body without network access or error output, find child
 * elements by local name, read their text. */
#ifndef KV_UTIL_XML_H
#define KV_UTIL_XML_H

#include <libxml/tree.h>
#include <stddef.h>

#include "util/buf.h"

/* Parses body; NULL when empty or not well-formed. Free with xmlFreeDoc.
 * Initialises libxml2 once per process, so any thread may call it first. */
xmlDoc *kv_xml_parse(const kv_buf *body);

/* The root element when it is named name, else NULL. */
xmlNode *kv_xml_root(xmlDoc *doc, const char *name);

/* First child element of parent named name (namespaces ignored), or NULL. */
xmlNode *kv_xml_child(xmlNode *parent, const char *name);

/* Text of the child element name into out, truncated to n; "" when absent. */
void kv_xml_text(xmlNode *parent, const char *name, char *out, size_t n);

/* Same, malloc'd; NULL when absent or out of memory. */
char *kv_xml_text_dup(xmlNode *parent, const char *name);

#endif
