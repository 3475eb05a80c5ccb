#pragma once
// A directory tree as tar entries (util/tar_writer.h), read without ever
// following a symlink: each level is opened relative to its parent with
// O_NOFOLLOW. libc and std only: the kube helper archives with it too.
#include <sys/types.h>

#include <string>
#include <vector>

namespace berth {

// The names in directory `dirFd` (not "." and ".."), sorted: archives and
// diffs list entries in a stable order.
std::vector<std::string> sortedEntries(int dirFd);

// Writes `name` (an entry of dirFd) and, for a directory, everything below
// it, as `tarName`, to `out`. Regular files, directories and symlinks;
// devices, fifos and sockets are left out, and so is what vanishes while
// read. `onlyDev` (non-zero): a directory on another filesystem is written
// without its contents (export). False when writing failed (errno says why).
bool writeTarTree(int out, int dirFd, const std::string& name, const std::string& tarName, dev_t onlyDev = 0);

}  // namespace berth
