/*-------------------------------------------------------------------------
 * xgb_bridge.h
 *	  The only door to libxgboost: model bytes in any format to JSON, and
 *	  libxgboost's own in-place prediction (the reference path).
 *-------------------------------------------------------------------------
 */
#ifndef RISK_XGB_BRIDGE_H
#define RISK_XGB_BRIDGE_H

typedef enum ModelFormat
{
	FORMAT_JSON,
	FORMAT_UBJSON,
	FORMAT_BINARY
} ModelFormat;

/* A libxgboost booster, freed when the memory context it lives in goes away. */
typedef struct XgbBooster XgbBooster;

extern void xgb_init(void);
extern ModelFormat xgb_detect_format(const char *bytes, size_t len);
extern const char *xgb_format_name(ModelFormat format);
/* Untrusted model bytes -> libxgboost's JSON, read in a child process. */
extern char *xgb_read_model(const char *bytes, size_t len, size_t *json_len);
/* A booster in this process, from JSON that xgb_read_model returned. */
extern XgbBooster *xgb_load(const char *json, size_t len);
extern char *xgb_save_json(XgbBooster *booster, size_t *len);
extern int	xgb_predict_row(XgbBooster *booster, const float *row, int num_features,
							bool margin, float *out, int max_out);
extern char *xgb_version_string(void);

#endif							/* RISK_XGB_BRIDGE_H */
