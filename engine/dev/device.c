/*
 * device.c - helpers shared by the devices (see device.h).
 */
#include "device.h"

#include <string.h>

#include "nestlab.h"

struct pod_header {
	uint32_t version;
	uint32_t size;
};

void dev_save_pod(GByteArray *out, uint32_t version, const void *state, size_t len)
{
	const struct pod_header h = { version, (uint32_t)len };
	g_byte_array_append(out, (const guint8 *)&h, sizeof h);
	g_byte_array_append(out, state, (guint)len);
}

bool dev_restore_pod(const char *name, uint32_t version, const uint8_t *buf, size_t buflen,
                     void *state, size_t len, GError **error)
{
	struct pod_header h;
	if (buflen < sizeof h) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_STATE,
		            "the saved state of device %s is truncated", name);
		return false;
	}
	memcpy(&h, buf, sizeof h);
	if (h.version != version || h.size != len || buflen != sizeof h + len) {
		g_set_error(error, NESTLAB_ERROR, NESTLAB_ERROR_STATE,
		            "the saved state of device %s has version %u and %u bytes; this build "
		            "reads version %u with %zu bytes",
		            name, h.version, h.size, version, len);
		return false;
	}
	memcpy(state, buf + sizeof h, len);
	return true;
}
