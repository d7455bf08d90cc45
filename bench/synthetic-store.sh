# Sourced by the benchmarks: synthetic_store N makes build/bench-store-N.db once (N tracks
# with descriptors and timbre-v1 vectors, by build/bench/make_store) and prints its path.
# The store is kept between runs; delete it to make a fresh one.
synthetic_store() {
  local n=$1
  local db=build/bench-store-$n.db
  if [[ ! -s $db ]]; then
    echo "making a store of $n synthetic tracks in $db ..." >&2
    rm -rf "$db" "$db".index "$db"-wal "$db"-shm
    "${MAKE_STORE:-build/bench/make_store}" "$db.tmp" "$n" >&2
    mv "$db.tmp" "$db"
    rm -rf "$db.tmp.index"
  fi
  echo "$db"
}
