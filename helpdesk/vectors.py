"""SQL for the chunk vectors: the HNSW index per vector size, and nearest-neighbour search.

`helpdesk_chunk.embedding` is an unsized `vector`, so vectors of a new model can be written beside
the old ones while a re-embedding runs. Each size N gets a partial expression index over
`embedding::vector(N)`; searches repeat that exact expression so PostgreSQL uses it.
"""

from __future__ import annotations

import numpy as np
from django.db import connection

from embeddings.catalog import MAX_INDEXED_DIMENSIONS


def index_name(dimensions: int) -> str:
    return f"helpdesk_chunk_hnsw_{int(dimensions)}"


def ensure_index(dimensions: int, *, using_connection=None, concurrently: bool = False) -> bool:
    """Create the HNSW cosine index for `dimensions` if missing; return True if it exists now.

    `concurrently` builds without blocking writers; it needs autocommit (a task, not a migration).
    """
    dims = int(dimensions)
    if dims > MAX_INDEXED_DIMENSIONS:
        return False
    conn = using_connection or connection
    with conn.cursor() as cursor:
        # Look first: CREATE INDEX IF NOT EXISTS would still lock the table against writers.
        # In the current schema: an evaluation schema (see evaluate_retrieval) has its own table.
        cursor.execute("SELECT 1 FROM pg_indexes WHERE tablename = 'helpdesk_chunk' AND indexname = %s "
                       "AND schemaname = current_schema()", [index_name(dims)])
        if cursor.fetchone():
            return True
        cursor.execute(
            f"CREATE INDEX {'CONCURRENTLY ' if concurrently and not conn.in_atomic_block else ''}"
            f"IF NOT EXISTS {index_name(dims)} ON helpdesk_chunk "
            f"USING hnsw ((embedding::vector({dims})) vector_cosine_ops) "
            f"WITH (m = 16, ef_construction = 64) WHERE vector_dims(embedding) = {dims}"
        )
    return True


def nearest_chunks(query: np.ndarray, *, encoder: str, limit: int, ef_search: int = 100) -> list[tuple[int, int, float]]:
    """Return (chunk id, article id, cosine similarity) of the `limit` nearest chunks of `encoder`.

    Must run inside a transaction (the ef_search setting is transaction-local).
    """
    dims = int(query.shape[-1])
    literal = "[" + ",".join(f"{x:.7g}" for x in np.asarray(query, dtype=np.float32).ravel()) + "]"
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(max(int(ef_search), limit))])
        cursor.execute(
            f"""
            SELECT id, article_id, 1 - ((embedding::vector({dims})) <=> %s::vector({dims})) AS similarity
            FROM helpdesk_chunk
            WHERE vector_dims(embedding) = {dims} AND encoder = %s
            ORDER BY (embedding::vector({dims})) <=> %s::vector({dims})
            LIMIT %s
            """,
            [literal, encoder, literal, limit],
        )
        return [(row[0], row[1], float(row[2])) for row in cursor.fetchall()]
