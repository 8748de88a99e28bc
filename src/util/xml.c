#include "util/xml.h"

#include <libxml/parser.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
    xmlInitParser();
}

xmlDoc *kv_xml_parse(const kv_buf *body)
{
    pthread_once(&xml_once, xml_init);
    if (!body->len)
        return NULL;
    return xmlReadMemory(body->data, (int)body->len, NULL, NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

xmlNode *kv_xml_root(xmlDoc *doc, const char *name)
{
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    return root && strcmp((const char *)root->name, name) == 0 ? root : NULL;
}

xmlNode *kv_xml_child(xmlNode *parent, const char *name)
{
    for (xmlNode *n = parent ? parent->children : NULL; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0)
            return n;
    return NULL;
}

void kv_xml_text(xmlNode *parent, const char *name, char *out, size_t n)
{
    xmlNode *c = kv_xml_child(parent, name);
    xmlChar *t = c ? xmlNodeGetContent(c) : NULL;
    snprintf(out, n, "%s", t ? (const char *)t : "");
    xmlFree(t);
}

char *kv_xml_text_dup(xmlNode *parent, const char *name)
{
    xmlNode *c = kv_xml_child(parent, name);
    xmlChar *t = c ? xmlNodeGetContent(c) : NULL;
    char *out = t ? strdup((const char *)t) : NULL;
    xmlFree(t);
    return out;
}
