#include "runtime/kube/helper_image.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

#include "nlohmann/json.hpp"
#include "runtime/kube/pod_builder.h"
#include "util/digest.h"
#include "util/status.h"
#include "util/strings.h"
#include "util/tar_writer.h"
#include "util/unique_fd.h"

namespace berth::runtime::kube {

HelperImage buildHelperImage(std::string_view helperBinary, std::string_view arch, std::string_view version) {
  HelperImage img;
  img.layer = tarFileHeader(kHelperBinary, static_cast<int64_t>(helperBinary.size()), 0, 0755);
  img.layer.append(helperBinary);
  img.layer += tarPadding(static_cast<int64_t>(helperBinary.size()));
  img.layer += tarEnd();
  img.layerDigest = sha256Digest(img.layer);
  nlohmann::ordered_json config = {
      {"architecture", arch},
      {"os", "linux"},
      {"config", {{"Entrypoint", {strCat("/", kHelperBinary)}}, {"Cmd", {"serve"}}, {"WorkingDir", "/"}}},
      {"rootfs", {{"type", "layers"}, {"diff_ids", {img.layerDigest}}}},
      {"history", {{{"created_by", strCat("berth ", version, ": the kube backend's in-pod helper")}}}},
  };
  img.config = config.dump();
  img.configDigest = sha256Digest(img.config);
  nlohmann::ordered_json manifest = {
      {"schemaVersion", 2},
      {"mediaType", HelperImage::kManifestType},
      {"config",
       {{"mediaType", "application/vnd.oci.image.config.v1+json"},
        {"digest", img.configDigest},
        {"size", img.config.size()}}},
      {"layers",
       {{{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
         {"digest", img.layerDigest},
         {"size", img.layer.size()}}}},
  };
  img.manifest = manifest.dump();
  img.manifestDigest = sha256Digest(img.manifest);
  return img;
}

namespace {

absl::Status uploadIfMissing(registry::Repository& repo, const std::string& digest, std::string_view body) {
  BERTH_ASSIGN_OR_RETURN(bool present, repo.blobExists(digest));
  if (present) return absl::OkStatus();
  // The client uploads from a file descriptor.
  UniqueFd fd(::memfd_create("berth-helper-blob", MFD_CLOEXEC));
  if (!fd.valid()) return errnoStatus(errno, "memfd_create");
  BERTH_RETURN_IF_ERROR(writeAll(fd.get(), body));
  ::lseek(fd.get(), 0, SEEK_SET);
  return repo.uploadBlob(digest, fd.get(), static_cast<int64_t>(body.size()));
}

}  // namespace

absl::Status publishHelperImage(registry::Repository& repo, const std::string& tag, const HelperImage& image) {
  BERTH_RETURN_IF_ERROR(uploadIfMissing(repo, image.layerDigest, image.layer));
  BERTH_RETURN_IF_ERROR(uploadIfMissing(repo, image.configDigest, image.config));
  return repo.putManifest(tag, HelperImage::kManifestType, image.manifest);
}

}  // namespace berth::runtime::kube
