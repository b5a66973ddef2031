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

/* Shared by the readers and the trainer (xgb_bridge.c). */
extern char *xgb_clean_message(const char *msg);
extern bool xgb_write_all(int fd, const char *data, size_t len);
extern size_t xgb_address_space_in_use(void);
extern void xgb_stop_child(pid_t pid);
/* fork() with a pipe: 0 in the child (it writes fds[1]), its pid in the parent (reads fds[0]) */
extern pid_t xgb_fork_with_pipe(int fds[2], const char *what);

/*
 * Training, in a child process (xgb_train.c).  The child inherits the rows
 * (fork shares them, nothing is copied), runs libxgboost with its OpenMP
 * threads, and reports each round; the backend never runs a thread.
 */
typedef struct XgbTrainSpec
{
	const float *x;				/* rows * num_features: training rows, then validation rows */
	const float *label;
	const float *weight;		/* NULL: every row weighs 1 */
	int64		num_train;
	int64		num_valid;
	int			num_features;
	char	  **feature_names;
	char	  **feature_types;	/* "q" or "c" per feature; NULL: all "q", none set */
	int			num_params;
	char	  **param_keys;		/* passed to XGBoosterSetParam in this order */
	char	  **param_values;
	int			rounds;
	int			early_stopping_rounds;	/* 0: train every round; else on the last metric */
	int			threads;
	int			trees_per_round;	/* num_parallel_tree; 0 for gblinear */
	size_t		memory_limit;	/* bytes the child may map beyond the rows; 0: no limit */
} XgbTrainSpec;

typedef enum XgbTrainEventKind
{
	XGB_TRAIN_ROUND,			/* text: libxgboost's evaluation line of the round */
	XGB_TRAIN_WARNING,			/* text: a warning of libxgboost */
	XGB_TRAIN_DONE				/* the model and its predictions on the validation rows */
} XgbTrainEventKind;

typedef struct XgbTrainEvent
{
	XgbTrainEventKind kind;
	int			round;			/* ROUND: 0-based */
	char	   *text;
	/* DONE */
	char	   *model;			/* libxgboost's JSON of the rounds kept */
	size_t		model_len;
	float	   *valid_predictions;	/* num_valid */
	int			rounds_trained;
	int			best_round;		/* 0-based: the last round kept */
	double		seconds;		/* the child's wall time */
	int64		start_rss;		/* the child's resident memory when it started, bytes */
	int64		peak_rss;		/* and at its peak */
} XgbTrainEvent;

typedef struct XgbTraining XgbTraining;

/* Forks the trainer; it is killed when CurrentMemoryContext is reset. */
extern XgbTraining *xgb_train_start(const XgbTrainSpec *spec);
/* The next event, waiting for it (cancellable); errors as ereport. */
extern void xgb_train_next(XgbTraining *t, XgbTrainEvent *ev);
/* The trainer's resident memory now, bytes (0 when unknown). */
extern int64 xgb_train_rss(XgbTraining *t);

#endif							/* RISK_XGB_BRIDGE_H */
