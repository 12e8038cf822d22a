package render

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile makes path hold content with mode, atomically: the content goes
// to a new file in the same directory, which is synced and renamed over path,
// so a reader sees the old file or the new one, never a part. When path
// already holds exactly content with mode, nothing is written and changed is
// false.
func WriteFile(path string, content []byte, mode fs.FileMode) (changed bool, err error) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm() == mode.Perm() {
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, content) {
			return false, nil
		}
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return false, fmt.Errorf("cannot write %s: %w", path, cause(err))
	}
	defer os.Remove(tmp.Name()) // after a successful rename, there is nothing left to remove
	if err := tmp.Chmod(mode.Perm()); err != nil {
		tmp.Close()
		return false, fmt.Errorf("cannot write %s: %w", path, err)
	}
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		return false, fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return false, fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return false, fmt.Errorf("cannot write %s: %w", path, cause(err))
	}
	return true, nil
}

// CheckWritable reports, with a message that says what to fix, why path
// cannot be written by WriteFile: a missing directory, a directory in its
// place, a directory where no file can be created.
func CheckWritable(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("directory %s does not exist: create it, or choose another destination", dir)
	case err != nil:
		return fmt.Errorf("cannot use directory %s: %w", dir, cause(err))
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	}
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%s exists and is not a regular file", path)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".check-*")
	if err != nil {
		return fmt.Errorf("cannot create files in %s: %w", dir, cause(err))
	}
	tmp.Close()
	return os.Remove(tmp.Name())
}

// cause drops the operation and path of an *fs.PathError or *os.LinkError,
// which the messages above say themselves.
func cause(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}
