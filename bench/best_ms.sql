-- pg_temp.best_ms(query[, runs]): the best of runs (two) runs of a query, in milliseconds
-- (included by each benchmark with \ir).
CREATE FUNCTION pg_temp.best_ms(query text, runs int DEFAULT 2) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    best float8 := 'Infinity';
BEGIN
    FOR i IN 1..runs LOOP
        t0 := clock_timestamp();
        EXECUTE query;
        best := least(best, 1000 * extract(epoch FROM clock_timestamp() - t0));
    END LOOP;
    RETURN best;
END $$;
