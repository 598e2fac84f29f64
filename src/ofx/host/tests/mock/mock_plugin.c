/*
 * A tiny OFX image effect used to test the headless host end to end, independent of the real
 * FaceSwap plug-in. The OFX structs are declared here by hand (layout = the OFX 1.4 headers), which
 * also checks the host's ABI from the other side.
 *
 * Behaviour:
 *  - filter and general contexts; Source (RGBA, RGB) and Output (RGBA) clips; temporal access;
 *  - multi-planar when the host offers the plane suite: output planes are the colour plane and a
 *    Natron custom plane "FaceMask" with one channel (A);
 *  - params: page "Controls", double "gain", int "radius", bool "invert", choice "mode"
 *    (Copy/Mask/Identity, plus "Extra" added at instance creation), string "note", double2D
 *    "offset", group "advanced" holding RGBA "tint", push button "reset";
 *  - render (float only): Output = gain * Source(t); FaceMask = mean(r,g,b) of Source(t - 1);
 *    rows are processed through the multithread suite when present;
 *  - mode Identity: is-identity answers Source at t;
 *  - instance-changed on gain > 3 posts a warning; on "reset" sets gain back to 1.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef int OfxStatus;
typedef double OfxTime;
typedef void *Handle;
typedef struct { double x1, y1, x2, y2; } OfxRectD;
typedef struct { int x1, y1, x2, y2; } OfxRectI;

#define OK 0
#define FAILED 1
#define REPLY_DEFAULT 14

typedef struct OfxHost {
    Handle host;
    const void *(*fetchSuite)(Handle host, const char *name, int version);
} OfxHost;

typedef struct OfxPlugin {
    const char *pluginApi;
    int apiVersion;
    const char *pluginIdentifier;
    unsigned int pluginVersionMajor, pluginVersionMinor;
    void (*setHost)(OfxHost *host);
    OfxStatus (*mainEntry)(const char *action, const void *handle, Handle inArgs, Handle outArgs);
} OfxPlugin;

typedef struct {
    OfxStatus (*propSetPointer)(Handle, const char *, int, void *);
    OfxStatus (*propSetString)(Handle, const char *, int, const char *);
    OfxStatus (*propSetDouble)(Handle, const char *, int, double);
    OfxStatus (*propSetInt)(Handle, const char *, int, int);
    OfxStatus (*propSetPointerN)(Handle, const char *, int, void *const *);
    OfxStatus (*propSetStringN)(Handle, const char *, int, const char *const *);
    OfxStatus (*propSetDoubleN)(Handle, const char *, int, const double *);
    OfxStatus (*propSetIntN)(Handle, const char *, int, const int *);
    OfxStatus (*propGetPointer)(Handle, const char *, int, void **);
    OfxStatus (*propGetString)(Handle, const char *, int, char **);
    OfxStatus (*propGetDouble)(Handle, const char *, int, double *);
    OfxStatus (*propGetInt)(Handle, const char *, int, int *);
    OfxStatus (*propGetPointerN)(Handle, const char *, int, void **);
    OfxStatus (*propGetStringN)(Handle, const char *, int, char **);
    OfxStatus (*propGetDoubleN)(Handle, const char *, int, double *);
    OfxStatus (*propGetIntN)(Handle, const char *, int, int *);
    OfxStatus (*propReset)(Handle, const char *);
    OfxStatus (*propGetDimension)(Handle, const char *, int *);
} PropSuite;

typedef struct {
    OfxStatus (*paramDefine)(Handle set, const char *type, const char *name, Handle *props);
    OfxStatus (*paramGetHandle)(Handle set, const char *name, Handle *param, Handle *props);
    OfxStatus (*paramSetGetPropertySet)(Handle set, Handle *props);
    OfxStatus (*paramGetPropertySet)(Handle param, Handle *props);
    OfxStatus (*paramGetValue)(Handle param, ...);
    OfxStatus (*paramGetValueAtTime)(Handle param, OfxTime time, ...);
    OfxStatus (*paramGetDerivative)(Handle param, OfxTime time, ...);
    OfxStatus (*paramGetIntegral)(Handle param, OfxTime t1, OfxTime t2, ...);
    OfxStatus (*paramSetValue)(Handle param, ...);
    OfxStatus (*paramSetValueAtTime)(Handle param, OfxTime time, ...);
    void *rest[8];
} ParamSuite;

typedef struct {
    OfxStatus (*getPropertySet)(Handle effect, Handle *props);
    OfxStatus (*getParamSet)(Handle effect, Handle *set);
    OfxStatus (*clipDefine)(Handle effect, const char *name, Handle *props);
    OfxStatus (*clipGetHandle)(Handle effect, const char *name, Handle *clip, Handle *props);
    OfxStatus (*clipGetPropertySet)(Handle clip, Handle *props);
    OfxStatus (*clipGetImage)(Handle clip, OfxTime time, const OfxRectD *region, Handle *image);
    OfxStatus (*clipReleaseImage)(Handle image);
    OfxStatus (*clipGetRegionOfDefinition)(Handle clip, OfxTime time, OfxRectD *rod);
    int (*abort)(Handle effect);
    void *memory[4];
} EffectSuite;

typedef struct {
    OfxStatus (*message)(void *handle, const char *type, const char *id, const char *format, ...);
    OfxStatus (*setPersistentMessage)(void *handle, const char *type, const char *id, const char *format, ...);
    OfxStatus (*clearPersistentMessage)(void *handle);
} MessageSuiteV2;

typedef struct {
    OfxStatus (*multiThread)(void (*func)(unsigned int, unsigned int, void *), unsigned int n, void *arg);
    OfxStatus (*multiThreadNumCPUs)(unsigned int *n);
    void *rest[7];
} ThreadSuite;

typedef struct {
    OfxStatus (*clipGetImagePlane)(Handle clip, OfxTime time, int view, const char *plane, const OfxRectD *region, Handle *image);
    void *rest[3];
} PlaneSuiteV2;

#define COLOUR "uk.co.thefoundry.OfxImagePlaneColour"
#define MASK_PLANE "NatronOfxImageComponentsPlaneName_FaceMask_PlaneLabel_FaceMask_Channel_A"

static OfxHost *host;
static const PropSuite *P;
static const ParamSuite *PS;
static const EffectSuite *E;
static const MessageSuiteV2 *M;
static const ThreadSuite *T;
static const PlaneSuiteV2 *PL;

static void set_host(OfxHost *h) { host = h; }

static Handle effect_props(const void *effect) {
    Handle p = NULL;
    E->getPropertySet((Handle)effect, &p);
    return p;
}

static Handle param(const void *effect, const char *name) {
    Handle set = NULL, p = NULL;
    E->getParamSet((Handle)effect, &set);
    PS->paramGetHandle(set, name, &p, NULL);
    return p;
}

static Handle define(Handle set, const char *type, const char *name, const char *parent) {
    Handle props = NULL;
    PS->paramDefine(set, type, name, &props);
    P->propSetString(props, "OfxPropLabel", 0, name);
    if (parent) P->propSetString(props, "OfxParamPropParent", 0, parent);
    return props;
}

static OfxStatus describe(const void *effect) {
    Handle p = effect_props(effect);
    const char *contexts[] = {"OfxImageEffectContextFilter", "OfxImageEffectContextGeneral"};
    const char *depths[] = {"OfxBitDepthFloat", "OfxBitDepthByte", "OfxBitDepthShort"};
    P->propSetString(p, "OfxPropLabel", 0, "Mock");
    P->propSetStringN(p, "OfxImageEffectPropSupportedContexts", 2, contexts);
    P->propSetStringN(p, "OfxImageEffectPropSupportedPixelDepths", 3, depths);
    P->propSetInt(p, "OfxImageEffectPropTemporalClipAccess", 0, 1);
    P->propSetInt(p, "uk.co.thefoundry.OfxImageEffectPropMultiPlanar", 0, PL != NULL);
    P->propSetInt(p, "OfxImageEffectPropRenderAllPlanes", 0, 1);
    P->propSetString(p, "OfxImageEffectPluginRenderThreadSafety", 0, "OfxImageEffectRenderFullySafe");
    return OK;
}

static OfxStatus describe_in_context(const void *effect) {
    Handle c = NULL, set = NULL, d;
    const char *src_comps[] = {"OfxImageComponentRGBA", "OfxImageComponentRGB"};
    const char *options[] = {"Copy", "Mask", "Identity"};
    const char *children[] = {"gain", "radius", "invert", "mode", "note", "offset", "advanced", "reset"};
    E->clipDefine((Handle)effect, "Source", &c);
    P->propSetStringN(c, "OfxImageEffectPropSupportedComponents", 2, src_comps);
    P->propSetInt(c, "OfxImageEffectPropTemporalClipAccess", 0, 1);
    E->clipDefine((Handle)effect, "Output", &c);
    P->propSetString(c, "OfxImageEffectPropSupportedComponents", 0, "OfxImageComponentRGBA");
    E->getParamSet((Handle)effect, &set);
    d = define(set, "OfxParamTypePage", "Controls", NULL);
    P->propSetStringN(d, "OfxParamPropPageChild", 8, children);
    d = define(set, "OfxParamTypeDouble", "gain", NULL);
    P->propSetDouble(d, "OfxParamPropDefault", 0, 1.0);
    P->propSetDouble(d, "OfxParamPropMin", 0, 0.0);
    P->propSetDouble(d, "OfxParamPropMax", 0, 4.0);
    P->propSetDouble(d, "OfxParamPropDisplayMin", 0, 0.0);
    P->propSetDouble(d, "OfxParamPropDisplayMax", 0, 2.0);
    P->propSetString(d, "OfxParamPropHint", 0, "Multiplies the source");
    d = define(set, "OfxParamTypeInteger", "radius", NULL);
    P->propSetInt(d, "OfxParamPropDefault", 0, 1);
    define(set, "OfxParamTypeBoolean", "invert", NULL);
    d = define(set, "OfxParamTypeChoice", "mode", NULL);
    P->propSetStringN(d, "OfxParamPropChoiceOption", 3, options);
    d = define(set, "OfxParamTypeString", "note", NULL);
    P->propSetString(d, "OfxParamPropDefault", 0, "hello");
    define(set, "OfxParamTypeDouble2D", "offset", NULL);
    define(set, "OfxParamTypeGroup", "advanced", NULL);
    d = define(set, "OfxParamTypeRGBA", "tint", "advanced");
    {
        double white[4] = {1, 1, 1, 1};
        P->propSetDoubleN(d, "OfxParamPropDefault", 4, white);
    }
    define(set, "OfxParamTypePushButton", "reset", NULL);
    return OK;
}

static OfxStatus create_instance(const void *effect) {
    Handle props = NULL;
    char suites[64];
    /* Dynamic choices: add an option at instance time. */
    PS->paramGetPropertySet(param(effect, "mode"), &props);
    P->propSetString(props, "OfxParamPropChoiceOption", 3, "Extra");
    snprintf(suites, sizeof suites, "msg2=%d mt=%d planes=%d", M != NULL, T != NULL, PL != NULL);
    P->propSetString(effect_props(effect), "MockSuites", 0, suites);
    return OK;
}

static OfxStatus instance_changed(const void *effect, Handle in) {
    char *name = NULL;
    P->propGetString(in, "OfxPropName", 0, &name);
    if (name && strcmp(name, "gain") == 0) {
        double gain = 0;
        PS->paramGetValue(param(effect, "gain"), &gain);
        if (gain > 3 && M) M->message((void *)effect, "OfxMessageWarning", "mock.gain", "gain %g is high", gain);
        if (gain > 3 && M) M->setPersistentMessage((void *)effect, "OfxMessageWarning", "mock.gain", "persistent %d", 42);
    } else if (name && strcmp(name, "reset") == 0) {
        PS->paramSetValue(param(effect, "gain"), 1.0);
    }
    return OK;
}

static int mode_at(const void *effect, double t) {
    int mode = 0;
    PS->paramGetValueAtTime(param(effect, "mode"), t, &mode);
    return mode;
}

static OfxStatus is_identity(const void *effect, Handle in, Handle out) {
    double t = 0;
    P->propGetDouble(in, "OfxPropTime", 0, &t);
    if (mode_at(effect, t) != 2) return REPLY_DEFAULT;
    P->propSetString(out, "OfxPropName", 0, "Source");
    P->propSetDouble(out, "OfxPropTime", 0, t);
    return OK;
}

static OfxStatus clip_components(Handle out) {
    const char *planes[] = {COLOUR, MASK_PLANE};
    P->propSetStringN(out, "uk.co.thefoundry.OfxNeededComp_Output", 2, planes);
    P->propSetString(out, "uk.co.thefoundry.OfxNeededComp_Source", 0, COLOUR);
    return OK;
}

static OfxStatus frames_needed(Handle in, Handle out) {
    double t = 0, range[2];
    P->propGetDouble(in, "OfxPropTime", 0, &t);
    range[0] = t - 1;
    range[1] = t + 1;
    P->propSetDoubleN(out, "OfxImageClipPropFrameRange_Source", 2, range);
    return OK;
}

/* An image's pixels and geometry. */
typedef struct { float *data; OfxRectI b; int row_bytes; } Img;

static int image_of(Handle h, Img *img) {
    char *depth = NULL;
    void *data = NULL;
    P->propGetString(h, "OfxImageEffectPropPixelDepth", 0, &depth);
    if (!depth || strcmp(depth, "OfxBitDepthFloat") != 0) return 0;
    P->propGetPointer(h, "OfxImagePropData", 0, &data);
    P->propGetIntN(h, "OfxImagePropBounds", 4, &img->b.x1);
    P->propGetInt(h, "OfxImagePropRowBytes", 0, &img->row_bytes);
    img->data = data;
    return data != NULL;
}

static float *px(const Img *img, int x, int y, int comps) {
    if (x < img->b.x1 || x >= img->b.x2 || y < img->b.y1 || y >= img->b.y2) return NULL;
    return (float *)((char *)img->data + (size_t)(y - img->b.y1) * img->row_bytes) + (size_t)(x - img->b.x1) * comps;
}

typedef struct { Img src, prev, out, mask; OfxRectI win; double gain; int src_comps, has_prev, has_mask; } Job;

static void render_rows(unsigned int i, unsigned int n, void *arg) {
    Job *j = arg;
    int rows = j->win.y2 - j->win.y1, y, x, c;
    int y0 = j->win.y1 + (int)((long)rows * i / n), y1 = j->win.y1 + (int)((long)rows * (i + 1) / n);
    for (y = y0; y < y1; ++y)
        for (x = j->win.x1; x < j->win.x2; ++x) {
            float *s = px(&j->src, x, y, j->src_comps), *o = px(&j->out, x, y, 4);
            if (!o) continue;
            for (c = 0; c < 4; ++c) o[c] = s ? (c < j->src_comps ? (float)(s[c] * j->gain) : 1.0f) : 0.0f;
            if (j->has_mask) {
                float *p = j->has_prev ? px(&j->prev, x, y, j->src_comps) : NULL, *m = px(&j->mask, x, y, 1);
                if (m) *m = p ? (p[0] + p[1] + p[2]) / 3.0f : 0.0f;
            }
        }
}

static OfxStatus render(const void *effect, Handle in) {
    Handle src_clip, out_clip, src = NULL, prev = NULL, out = NULL, mask = NULL;
    double t = 0;
    char *comps = NULL;
    Job j;
    OfxStatus st = OK;
    memset(&j, 0, sizeof j);
    P->propGetDouble(in, "OfxPropTime", 0, &t);
    P->propGetIntN(in, "OfxImageEffectPropRenderWindow", 4, &j.win.x1);
    PS->paramGetValueAtTime(param(effect, "gain"), t, &j.gain);
    E->clipGetHandle((Handle)effect, "Source", &src_clip, NULL);
    E->clipGetHandle((Handle)effect, "Output", &out_clip, NULL);
    if (E->clipGetImage(src_clip, t, NULL, &src) != OK || E->clipGetImage(out_clip, t, NULL, &out) != OK) {
        if (M) M->message((void *)effect, "OfxMessageError", "mock.noimage", "no image at %g", t);
        st = FAILED;
        goto done;
    }
    P->propGetString(src, "OfxImageEffectPropComponents", 0, &comps);
    j.src_comps = comps && strcmp(comps, "OfxImageComponentRGB") == 0 ? 3 : 4;
    if (!image_of(src, &j.src) || !image_of(out, &j.out)) {
        if (M) M->message((void *)effect, "OfxMessageError", "mock.depth", "%s", "float only");
        st = FAILED;
        goto done;
    }
    j.has_prev = E->clipGetImage(src_clip, t - 1, NULL, &prev) == OK && image_of(prev, &j.prev);
    j.has_mask = PL && PL->clipGetImagePlane(out_clip, t, 0, MASK_PLANE, NULL, &mask) == OK && image_of(mask, &j.mask);
    if (T) T->multiThread(render_rows, 3, &j);
    else render_rows(0, 1, &j);
done:
    if (src) E->clipReleaseImage(src);
    if (prev) E->clipReleaseImage(prev);
    if (out) E->clipReleaseImage(out);
    if (mask) E->clipReleaseImage(mask);
    return st;
}

static OfxStatus main_entry(const char *action, const void *handle, Handle in, Handle out) {
    if (strcmp(action, "OfxActionLoad") == 0) {
        P = host->fetchSuite(host->host, "OfxPropertySuite", 1);
        PS = host->fetchSuite(host->host, "OfxParameterSuite", 1);
        E = host->fetchSuite(host->host, "OfxImageEffectSuite", 1);
        M = host->fetchSuite(host->host, "OfxMessageSuite", 2);
        T = host->fetchSuite(host->host, "OfxMultiThreadSuite", 1);
        PL = host->fetchSuite(host->host, "uk.co.thefoundry.FnOfxImageEffectPlaneSuite", 2);
        return (P && PS && E) ? OK : FAILED;
    }
    if (strcmp(action, "OfxActionDescribe") == 0) return describe(handle);
    if (strcmp(action, "OfxImageEffectActionDescribeInContext") == 0) return describe_in_context(handle);
    if (strcmp(action, "OfxActionCreateInstance") == 0) return create_instance(handle);
    if (strcmp(action, "OfxActionInstanceChanged") == 0) return instance_changed(handle, in);
    if (strcmp(action, "OfxImageEffectActionIsIdentity") == 0) return is_identity(handle, in, out);
    if (strcmp(action, "uk.co.thefoundry.OfxImageEffectActionGetClipComponents") == 0) return clip_components(out);
    if (strcmp(action, "OfxImageEffectActionGetFramesNeeded") == 0) return frames_needed(in, out);
    if (strcmp(action, "OfxImageEffectActionRender") == 0) return render(handle, in);
    return REPLY_DEFAULT;
}

static OfxPlugin plugin = {"OfxImageEffectPluginAPI", 1, "org.faceswap.mock", 1, 2, set_host, main_entry};

__attribute__((visibility("default"))) int OfxGetNumberOfPlugins(void) { return 1; }
__attribute__((visibility("default"))) OfxPlugin *OfxGetPlugin(int i) { return i == 0 ? &plugin : NULL; }
