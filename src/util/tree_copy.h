#pragma once
// Copies a directory's contents into another directory, never following a
// symlink (each level opened relative to its parent with O_NOFOLLOW), so a
// tree an image planted cannot lead the copy elsewhere: Docker's copy-up
// of an image's files into a fresh volume.

namespace berth {

// What srcDir holds, into dstDir: directories, regular files and symlinks,
// with their modes, owners and modification times; devices, fifos and
// sockets are left out, hard links become separate files, and an entry
// already in dstDir is kept (two starts copying into one volume). Owners that
// cannot be set (EPERM, or EINVAL for an id outside a user namespace's map)
// stay the copier's. False when copying failed (errno says why).
bool copyDirContents(int srcDir, int dstDir);
// The same, then srcDir's own owner, mode and times onto dstDir.
bool copyDirectory(int srcDir, int dstDir);

}  // namespace berth
