"""Named, parameterised queries. Values are always bound, never formatted into SQL."""

KNOWN_GUIDS = "SELECT DISTINCT guid FROM articles WHERE guid IN (SELECT unnest(?::VARCHAR[]))"

KNOWN_URLS = """
SELECT DISTINCT u FROM (
    SELECT canonical_url AS u FROM articles WHERE canonical_url IN (SELECT unnest(?::VARCHAR[]))
    UNION ALL
    SELECT url AS u FROM articles WHERE url IN (SELECT unnest(?::VARCHAR[]))
)
"""

ORIGINALS_BY_URL = """
SELECT canonical_url, coalesce(duplicate_of, article_id) AS original
FROM articles WHERE canonical_url IN (SELECT unnest(?::VARCHAR[]))
  AND duplicate_kind IS DISTINCT FROM 'pending'
ORDER BY (duplicate_of IS NULL) DESC, fetched_at NULLS FIRST, article_id
"""

ORIGINALS_BY_HASH = """
SELECT content_hash, coalesce(duplicate_of, article_id) AS original
FROM articles WHERE content_hash IN (SELECT unnest(?::VARCHAR[]))
  AND duplicate_kind IS DISTINCT FROM 'pending'
ORDER BY (duplicate_of IS NULL) DESC, fetched_at NULLS FIRST, article_id
"""

EXISTING_IDS = "SELECT article_id FROM articles WHERE article_id IN (SELECT unnest(?::VARCHAR[]))"

SEED_IDS = "SELECT article_id FROM articles WHERE origin = 'seed'"

FEED_STATES = """
SELECT name, url, etag, last_modified, last_polled_at, last_status, last_error,
       consecutive_failures, next_poll_at, coalesce(disabled, FALSE)
FROM feeds
"""

# Written without ON CONFLICT (DuckLake has no primary keys): every write happens
# under the one-writer lock, so "delete then insert" and "insert where absent" are
# atomic with respect to other writers.
DELETE_FEED = "DELETE FROM feeds WHERE name = ?"

INSERT_FEED = """
INSERT INTO feeds (name, url, etag, last_modified, last_polled_at, last_status, last_error,
                   consecutive_failures, next_poll_at, disabled)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

ENABLE_FEED = """
UPDATE feeds SET disabled = FALSE, consecutive_failures = 0, next_poll_at = NULL WHERE name = ?
RETURNING name
"""

INSERT_POLL = """
INSERT INTO feed_polls (run_id, feed_name, polled_at, http_status, not_modified, entries,
                        new_entries, bytes, elapsed_ms, error)
SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10
WHERE NOT EXISTS (SELECT 1 FROM feed_polls WHERE run_id = $1 AND feed_name = $2)
"""

START_RUN = """
INSERT INTO runs (run_id, flow, trigger, parameters, started_at, status, errors, host, pid,
                  parent_run_id, worker)
SELECT $1, $2, $3, $4, $5, 'running', '[]', $6, $7, $8, $9
WHERE NOT EXISTS (SELECT 1 FROM runs WHERE run_id = $1)
"""

RUNNING_RUNS = "SELECT run_id, host, pid FROM runs WHERE status = 'running'"

MARK_INTERRUPTED = """
UPDATE runs SET status = 'failed', finished_at = ?,
       errors = to_json([{'feed': NULL, 'url': NULL, 'stage': 'run', 'message': ?}])
WHERE run_id = ? AND status = 'running'
"""

FINISH_RUN = """
UPDATE runs SET
    finished_at = ?, status = ?, feeds_total = ?, feeds_ok = ?, feeds_not_modified = ?,
    feeds_failed = ?, entries_seen = ?, entries_new = ?, articles_fetched = ?,
    extraction_failed = ?, duplicates_url = ?, duplicates_text = ?, duplicates_near = ?,
    articles_stored = ?, relevant_articles = ?, events_added = ?, articles_reprocessed = ?, errors = ?,
    poll_seconds = ?, fetch_seconds = ?, extract_seconds = ?, dedup_seconds = ?,
    classify_seconds = ?, write_seconds = ?
WHERE run_id = ?
"""

RUN_BY_ID = "SELECT * FROM runs WHERE run_id = ?"

SHARDS_OF_RUN = """
SELECT run_id, json_extract(parameters, '$.shard')::INTEGER AS shard, worker, host, status,
       feeds_total, entries_new, articles_stored, started_at, finished_at, errors
FROM runs WHERE parent_run_id = ? ORDER BY shard, started_at
"""

SHARD_TOTALS = """
SELECT count(*) AS shards,
       count(*) FILTER (WHERE status = 'completed') AS completed,
       sum(feeds_total) AS feeds_total, sum(feeds_ok) AS feeds_ok,
       sum(feeds_not_modified) AS feeds_not_modified, sum(feeds_failed) AS feeds_failed,
       sum(entries_seen) AS entries_seen, sum(entries_new) AS entries_new,
       sum(articles_fetched) AS articles_fetched, sum(extraction_failed) AS extraction_failed,
       sum(duplicates_url) AS duplicates_url, sum(duplicates_text) AS duplicates_text,
       sum(duplicates_near) AS duplicates_near, sum(articles_stored) AS articles_stored,
       sum(relevant_articles) AS relevant_articles, sum(events_added) AS events_added,
       sum(poll_seconds) AS poll_seconds, sum(fetch_seconds) AS fetch_seconds,
       sum(extract_seconds) AS extract_seconds, sum(dedup_seconds) AS dedup_seconds,
       sum(classify_seconds) AS classify_seconds, sum(write_seconds) AS write_seconds
FROM runs WHERE parent_run_id = ?
"""

RECENT_RUNS = "SELECT * FROM runs ORDER BY started_at DESC LIMIT ?"

POLLS_OF_RUN = """
SELECT feed_name, http_status, not_modified, entries, new_entries, bytes, elapsed_ms, error
FROM feed_polls
WHERE run_id = $1 OR run_id IN (SELECT run_id FROM runs WHERE parent_run_id = $1)
ORDER BY feed_name
"""

FEED_HEALTH = """
SELECT f.name, f.url, f.last_status, f.last_polled_at, f.consecutive_failures, f.last_error,
       coalesce(f.disabled, FALSE) AS disabled, f.next_poll_at,
       (SELECT max(p.polled_at) FROM feed_polls p WHERE p.feed_name = f.name AND p.error IS NULL) AS last_success,
       (SELECT avg(p.not_modified::INT) FROM feed_polls p WHERE p.feed_name = f.name) AS share_304,
       (SELECT count(*) FROM articles a WHERE a.feed_name = f.name) AS articles,
       (SELECT avg(coalesce(a.is_relevant, FALSE)::INT) FILTER (WHERE a.duplicate_of IS NULL)
          FROM articles a WHERE a.feed_name = f.name) AS relevant_share,
       (SELECT avg((a.duplicate_of IS NOT NULL)::INT) FROM articles a WHERE a.feed_name = f.name) AS duplicate_share
FROM feeds f ORDER BY f.name
"""

ARTICLE_COUNTS_OF_RUN = """
SELECT count(*) AS stored,
       count(*) FILTER (WHERE duplicate_kind = 'url') AS dup_url,
       count(*) FILTER (WHERE duplicate_kind = 'text') AS dup_text,
       count(*) FILTER (WHERE duplicate_kind = 'near') AS dup_near
FROM articles WHERE run_id = ?
"""

# Reprocessing the dedup stage: articles in decision order (seeds first, then as stored).
DEDUP_ORDER = """
SELECT article_id FROM articles
WHERE ?::TIMESTAMPTZ IS NULL OR coalesce(fetched_at, published_at) >= ?::TIMESTAMPTZ
ORDER BY (origin = 'seed') DESC, coalesce(fetched_at, published_at) NULLS FIRST, article_id
"""

MARK_PENDING = """
UPDATE articles SET duplicate_of = NULL, duplicate_kind = 'pending', similarity = NULL
WHERE article_id IN (SELECT unnest(?::VARCHAR[]))
"""

ARTICLES_BY_IDS = "SELECT * FROM articles WHERE article_id IN (SELECT unnest(?::VARCHAR[]))"

APPLY_DECISIONS = """
UPDATE articles SET duplicate_of = d.duplicate_of, duplicate_kind = d.duplicate_kind,
                    similarity = d.similarity
FROM decisions d WHERE articles.article_id = d.article_id
"""

DUPLICATE_COUNTS = """
SELECT count(*) FILTER (WHERE duplicate_kind = 'url'), count(*) FILTER (WHERE duplicate_kind = 'text'),
       count(*) FILTER (WHERE duplicate_kind = 'near')
FROM articles WHERE article_id IN (SELECT unnest(?::VARCHAR[]))
"""

DELETE_EVENTS = "DELETE FROM events WHERE article_id IN (SELECT unnest(?::VARCHAR[]))"

APPLY_RELEVANCE = """
UPDATE articles SET relevance = s.relevance, is_relevant = s.is_relevant
FROM scores s WHERE articles.article_id = s.article_id
"""

CLASSIFY_ORDER = """
SELECT article_id FROM articles
WHERE ?::TIMESTAMPTZ IS NULL OR coalesce(fetched_at, published_at) >= ?::TIMESTAMPTZ
ORDER BY coalesce(fetched_at, published_at) NULLS FIRST, article_id
"""

EVENTS_OF_RUN = """
SELECT e.event_date, e.event_type, e.is_root, e.actor1, e.actor2, e.location, e.fatalities,
       left(a.title, 80) AS title, a.url, left(e.evidence, 200) AS evidence
FROM events e JOIN articles a USING (article_id)
WHERE e.run_id = $1 OR e.run_id IN (SELECT run_id FROM runs WHERE parent_run_id = $1)
ORDER BY e.event_date DESC, a.article_id, e.sentence_index
LIMIT 500
"""

# The HTML briefing.
BRIEF_TIMELINE = """
SELECT strftime(date_trunc('month', event_date), '%Y-%m') AS month, event_type, count(*) AS events
FROM events GROUP BY ALL ORDER BY month
"""

BRIEF_PLACES = """
SELECT location, any_value(country) AS country, any_value(latitude) AS latitude,
       any_value(longitude) AS longitude, count(*) AS events, sum(fatalities) AS killed_reported
FROM events WHERE location IS NOT NULL GROUP BY location ORDER BY events DESC
"""

BRIEF_LATEST = """
SELECT e.event_date, e.event_type, e.actor1, e.actor2, e.location, e.fatalities,
       left(a.title, 90) AS title, a.url, left(e.evidence, 240) AS evidence
FROM events e JOIN articles a USING (article_id)
WHERE e.is_root ORDER BY e.event_date DESC, a.article_id LIMIT 40
"""

BRIEF_SYNDICATION = """
SELECT published_at, title, copies, outlets FROM v_stories WHERE copies > 0
ORDER BY copies DESC, published_at DESC LIMIT 40
"""

BRIEF_TOTALS = """
SELECT count(*) AS articles, count(*) FILTER (WHERE duplicate_of IS NULL) AS originals,
       count(*) FILTER (WHERE duplicate_of IS NOT NULL) AS copies,
       (SELECT count(*) FROM events) AS events,
       (SELECT min(event_date) FROM events) AS first, (SELECT max(event_date) FROM events) AS last
FROM articles
"""
