-- The feature-set batch benchmark's report (bench/run): the feature set's
-- batch function against numpy (its sorts and its searchsorted on the
-- sorted arrays, measured by bench/feature_set.py) and against plain SQL
-- window functions; and numpy's values checked against the database's.
\pset footer off
SELECT :events AS events, :tied AS tied_pairs,
       round(f.ms) AS feature_set_ms, round(:numpy_sort_ms + :numpy_features_ms) AS numpy_ms,
       round(:numpy_sort_ms) AS of_which_sort_ms, round(q.ms) AS sql_window_ms, round(z.ms) AS sort_floor_ms,
       round((f.ms / (:numpy_sort_ms + :numpy_features_ms))::numeric, 2) || 'x' AS feature_set_vs_numpy,
       round((q.ms / f.ms)::numeric, 2) || 'x' AS sql_vs_feature_set, 'target <= 2x numpy' AS target
  FROM fs_result f, fs_result q, fs_result z
 WHERE f.what = 'feature_set' AND q.what = 'sql_window' AND z.what = 'floor';
-- numpy's weighted checksums against the database's, feature by feature
SELECT d.name AS feature, d.v AS database_checksum, n.v AS numpy_checksum,
       abs(d.v - n.v) <= 1e-9 * greatest(abs(n.v), 1) AS equal
  FROM (SELECT u.name, u.v, u.o
          FROM fs_checksum c,
               unnest(ARRAY['buyer_n_1h', 'buyer_s_1h', 'buyer_n_1d', 'buyer_s_1d', 'buyer_n_7d', 'buyer_s_7d',
                            'card_n_1d', 'card_s_1d', 'card_n_7d', 'card_s_7d', 'card_n_30d', 'card_s_30d'],
                      ARRAY[c.buyer_n_1h, c.buyer_s_1h, c.buyer_n_1d, c.buyer_s_1d, c.buyer_n_7d, c.buyer_s_7d,
                            c.card_n_1d, c.card_s_1d, c.card_n_7d, c.card_s_7d, c.card_n_30d, c.card_s_30d])
                 WITH ORDINALITY AS u(name, v, o)) d
  JOIN unnest(string_to_array(:'numpy_checksums', ' ')::float8[]) WITH ORDINALITY AS n(v, o) USING (o)
 ORDER BY d.o;
