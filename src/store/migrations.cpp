#include "store/migrations.h"

#include <array>

namespace berth::store {
namespace {

constexpr std::array kMigrations = {
    Migration{1, "daemon metadata and object tables",
              R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
-- Objects keep their full Docker-shaped record as JSON in `spec`; the columns
-- beside it are what lists, filters and counts need without parsing it.
CREATE TABLE containers (
  id      TEXT PRIMARY KEY,
  name    TEXT NOT NULL UNIQUE,
  image   TEXT NOT NULL,
  state   TEXT NOT NULL,
  created INTEGER NOT NULL,
  spec    TEXT NOT NULL
) STRICT;
CREATE TABLE images (
  id      TEXT PRIMARY KEY,
  created INTEGER NOT NULL,
  size    INTEGER NOT NULL,
  spec    TEXT NOT NULL
) STRICT;
CREATE TABLE volumes (
  name    TEXT PRIMARY KEY,
  driver  TEXT NOT NULL,
  created INTEGER NOT NULL,
  spec    TEXT NOT NULL
) STRICT;
)sql"},
    Migration{2, "image references",
              R"sql(
-- Tags ("docker.io/library/busybox:latest") and repo digests
-- ("docker.io/library/busybox@sha256:…") naming images; a ref names one image.
CREATE TABLE image_refs (
  ref      TEXT PRIMARY KEY,
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  kind     TEXT NOT NULL CHECK (kind IN ('tag', 'digest')),
  created  INTEGER NOT NULL
) STRICT;
CREATE INDEX image_refs_by_image ON image_refs(image_id);
)sql"},
    Migration{3, "networks",
              R"sql(
-- Local networks, each as Docker's network inspect document in `spec`;
-- endpoints live with their containers.
CREATE TABLE networks (
  id      TEXT PRIMARY KEY,
  name    TEXT NOT NULL UNIQUE,
  created INTEGER NOT NULL,
  spec    TEXT NOT NULL
) STRICT;
)sql"},
};

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }

}  // namespace berth::store
