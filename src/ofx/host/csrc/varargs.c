/*
 * C-variadic entry points of the headless OFX host.
 *
 * Stable Rust can call C-variadic functions but cannot define them, and several OFX suite functions
 * are variadic: the parameter suite's value getters/setters (the number and type of the trailing
 * arguments depend on the parameter's type) and the message suites' printf-style `message` and
 * `setPersistentMessage`. This file implements exactly those entry points and nothing else: each one
 * asks Rust (through callbacks installed once at start-up) how many trailing arguments of which type
 * the parameter takes, reads exactly that many with va_arg, and forwards them to Rust as an array.
 *
 * Never read more va_args than the parameter type has: reading past what the caller pushed is
 * undefined behaviour, which is the whole reason the Rust side reports the arity first.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int OfxStatus;

/* Mirrors of the OFX status codes used here (ofxCore.h). */
#define OFXHOST_STAT_OK 0
#define OFXHOST_STAT_FAILED 1
#define OFXHOST_STAT_ERR_UNSUPPORTED 5
#define OFXHOST_STAT_ERR_MEMORY 8
#define OFXHOST_STAT_ERR_BAD_HANDLE 9

/* Kinds of trailing arguments; keep in sync with `varargs.rs`. */
#define OFXHOST_KIND_INT 0
#define OFXHOST_KIND_DOUBLE 1
#define OFXHOST_KIND_STRING 2

/* Get operations; keep in sync with `varargs.rs`. */
#define OFXHOST_OP_VALUE 0
#define OFXHOST_OP_VALUE_AT_TIME 1
#define OFXHOST_OP_DERIVATIVE 2
#define OFXHOST_OP_INTEGRAL 3

/* A parameter never has more than 4 values (RGBA). */
#define OFXHOST_MAX_ARITY 4

struct ofxhost_callbacks {
    /* Reports the kind (OFXHOST_KIND_*) and count (0..=4) of a parameter's values. A count of 0
     * means the parameter has no value (group, page, push button): no va_arg is read. */
    OfxStatus (*param_shape)(void *param, int *kind, int *count);
    /* Fills the `count` out-pointers of `kind` (int*, double* or char**). */
    OfxStatus (*param_get)(void *param, int op, double t1, double t2, int kind, int count, void **out);
    /* Sets a value: `ints`, `doubles` or `string` according to the kind. */
    OfxStatus (*param_set)(void *param, int at_time, double time, int kind, int count,
                           const int *ints, const double *doubles, const char *string);
    /* Records a formatted message. `persistent` is 1 for setPersistentMessage. */
    OfxStatus (*message)(void *handle, int persistent, const char *type, const char *id, const char *text);
};

static const struct ofxhost_callbacks *g_callbacks = NULL;

/* Called once by Rust before any suite is handed to a plug-in; later calls replace the table. */
void ofxhost_install_callbacks(const struct ofxhost_callbacks *callbacks) {
    __atomic_store_n(&g_callbacks, callbacks, __ATOMIC_RELEASE);
}

static const struct ofxhost_callbacks *callbacks(void) {
    return __atomic_load_n(&g_callbacks, __ATOMIC_ACQUIRE);
}

/* Reads `count` out-pointers from the va_list. All pointer types have the same size and
 * representation on the platforms OFX runs on, so they are read as void*. */
static OfxStatus get_common(void *param, int op, double t1, double t2, va_list ap) {
    const struct ofxhost_callbacks *cb = callbacks();
    int kind = 0, count = 0, i;
    void *out[OFXHOST_MAX_ARITY];
    OfxStatus st;
    if (cb == NULL || param == NULL) return OFXHOST_STAT_ERR_BAD_HANDLE;
    st = cb->param_shape(param, &kind, &count);
    if (st != OFXHOST_STAT_OK) return st;
    if (count <= 0 || count > OFXHOST_MAX_ARITY) return OFXHOST_STAT_ERR_UNSUPPORTED;
    /* Derivatives and integrals only exist for double parameters: do not touch the va_list
     * for anything else, the caller may have passed int* which we would misuse. */
    if ((op == OFXHOST_OP_DERIVATIVE || op == OFXHOST_OP_INTEGRAL) && kind != OFXHOST_KIND_DOUBLE)
        return OFXHOST_STAT_ERR_UNSUPPORTED;
    for (i = 0; i < count; ++i) out[i] = va_arg(ap, void *);
    for (i = 0; i < count; ++i)
        if (out[i] == NULL) return OFXHOST_STAT_FAILED;
    return cb->param_get(param, op, t1, t2, kind, count, out);
}

static OfxStatus set_common(void *param, int at_time, double time, va_list ap) {
    const struct ofxhost_callbacks *cb = callbacks();
    int kind = 0, count = 0, i;
    int ints[OFXHOST_MAX_ARITY] = {0, 0, 0, 0};
    double doubles[OFXHOST_MAX_ARITY] = {0.0, 0.0, 0.0, 0.0};
    const char *string = NULL;
    OfxStatus st;
    if (cb == NULL || param == NULL) return OFXHOST_STAT_ERR_BAD_HANDLE;
    st = cb->param_shape(param, &kind, &count);
    if (st != OFXHOST_STAT_OK) return st;
    if (count <= 0 || count > OFXHOST_MAX_ARITY) return OFXHOST_STAT_ERR_UNSUPPORTED;
    switch (kind) {
    case OFXHOST_KIND_INT:
        /* ints (and bools) are promoted to int in a variadic call */
        for (i = 0; i < count; ++i) ints[i] = va_arg(ap, int);
        break;
    case OFXHOST_KIND_DOUBLE:
        for (i = 0; i < count; ++i) doubles[i] = va_arg(ap, double);
        break;
    case OFXHOST_KIND_STRING:
        string = va_arg(ap, const char *);
        count = 1;
        break;
    default:
        return OFXHOST_STAT_ERR_UNSUPPORTED;
    }
    return cb->param_set(param, at_time, time, kind, count, ints, doubles, string);
}

OfxStatus ofxhost_paramGetValue(void *param, ...) {
    OfxStatus st;
    va_list ap;
    va_start(ap, param);
    st = get_common(param, OFXHOST_OP_VALUE, 0.0, 0.0, ap);
    va_end(ap);
    return st;
}

OfxStatus ofxhost_paramGetValueAtTime(void *param, double time, ...) {
    OfxStatus st;
    va_list ap;
    va_start(ap, time);
    st = get_common(param, OFXHOST_OP_VALUE_AT_TIME, time, 0.0, ap);
    va_end(ap);
    return st;
}

OfxStatus ofxhost_paramGetDerivative(void *param, double time, ...) {
    OfxStatus st;
    va_list ap;
    va_start(ap, time);
    st = get_common(param, OFXHOST_OP_DERIVATIVE, time, 0.0, ap);
    va_end(ap);
    return st;
}

OfxStatus ofxhost_paramGetIntegral(void *param, double time1, double time2, ...) {
    OfxStatus st;
    va_list ap;
    va_start(ap, time2);
    st = get_common(param, OFXHOST_OP_INTEGRAL, time1, time2, ap);
    va_end(ap);
    return st;
}

OfxStatus ofxhost_paramSetValue(void *param, ...) {
    OfxStatus st;
    va_list ap;
    va_start(ap, param);
    st = set_common(param, 0, 0.0, ap);
    va_end(ap);
    return st;
}

OfxStatus ofxhost_paramSetValueAtTime(void *param, double time, ...) {
    OfxStatus st;
    va_list ap;
    va_start(ap, time);
    st = set_common(param, 1, time, ap);
    va_end(ap);
    return st;
}

/* Formats a printf-style message into a malloc'd string (NULL on failure). */
static char *format_message(const char *format, va_list ap) {
    va_list copy;
    int needed;
    char *text;
    if (format == NULL) {
        text = malloc(1);
        if (text != NULL) text[0] = '\0';
        return text;
    }
    va_copy(copy, ap);
    needed = vsnprintf(NULL, 0, format, copy);
    va_end(copy);
    if (needed < 0) return NULL;
    text = malloc((size_t)needed + 1);
    if (text == NULL) return NULL;
    vsnprintf(text, (size_t)needed + 1, format, ap);
    return text;
}

static OfxStatus message_common(void *handle, int persistent, const char *type, const char *id,
                                const char *format, va_list ap) {
    const struct ofxhost_callbacks *cb = callbacks();
    char *text;
    OfxStatus st;
    if (cb == NULL) return OFXHOST_STAT_FAILED;
    text = format_message(format, ap);
    if (text == NULL) return OFXHOST_STAT_ERR_MEMORY;
    st = cb->message(handle, persistent, type, id, text);
    free(text);
    return st;
}

OfxStatus ofxhost_message(void *handle, const char *type, const char *id, const char *format, ...) {
    OfxStatus st;
    va_list ap;
    va_start(ap, format);
    st = message_common(handle, 0, type, id, format, ap);
    va_end(ap);
    return st;
}

OfxStatus ofxhost_setPersistentMessage(void *handle, const char *type, const char *id, const char *format, ...) {
    OfxStatus st;
    va_list ap;
    va_start(ap, format);
    st = message_common(handle, 1, type, id, format, ap);
    va_end(ap);
    return st;
}
