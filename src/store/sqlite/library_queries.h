// The SQLite side of similarity: vectors, the change log that indexes follow, filtered
// track selection and summaries. Callers hold the store's mutex.
#pragma once

#include <string>
#include <vector>

#include "sqlite/sqlite_db.h"
#include "timbre/store/store.h"

namespace timbre::store::sqlite {

Result<std::vector<TrackNumbers>> NumbersOfTracksWithout(Database& db, const std::string& space);
Status PutEmbeddings(Database& db, const std::vector<EmbeddingWrite>& rows);
Result<std::vector<StoredEmbedding>> LoadEmbeddings(Database& db, const std::string& space,
                                                    const std::vector<int64_t>* only);
Result<std::vector<std::string>> EmbeddingSpaces(Database& db);
Result<int64_t> LastChange(Database& db);
Result<std::vector<int64_t>> TracksChangedSince(Database& db, int64_t change);
Result<std::vector<int64_t>> SelectTracks(Database& db, const TrackFilter& filter);
Result<std::vector<TrackSummary>> Summaries(Database& db, const std::vector<int64_t>& ids);
Result<std::vector<TrackText>> TextOutputs(Database& db, const std::string& analyzer,
                                           const std::string& name);

}  // namespace timbre::store::sqlite
