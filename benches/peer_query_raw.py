#!/usr/bin/env python3
"""The five reference summaries of ../shared/bench/peer_query.py with DuckDB straight over flow log
text: a view over `read_csv` (space-delimited, the header line names the columns, `-` is null,
AWS's integer columns typed as AWS types them), so each query reads and parses the text again, as
`vpcflow query` over raw logs does.

  peer_query_raw.py SHARED_BENCH_DIR FILE.log [--threads N]
Prints the row count of each query's result and `ok`.
"""
import sys

import duckdb


def main():
    shared, path = sys.argv[1:3]
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 2
    sys.path.insert(0, shared)
    import peer_query

    con = duckdb.connect()
    con.execute(f"SET threads={threads}")
    quoted = path.replace("'", "''")
    types = {c: "INTEGER" for c in ("version", "srcport", "dstport", "protocol")}
    types.update({c: "BIGINT" for c in ("packets", "bytes", "start", "end")})
    con.execute(
        f"CREATE VIEW t AS SELECT * FROM read_csv('{quoted}', delim=' ', header=true, "
        f"nullstr='-', types={types!r})"
    )
    cols = [r[0] for r in con.execute("DESCRIBE t").fetchall()]
    eni = '"interface-id"' if "interface-id" in cols else "interface_id"
    for q in peer_query.QUERIES.values():
        print(len(con.execute(q.format(eni=eni)).fetchall()))
    print("ok")


if __name__ == "__main__":
    main()
