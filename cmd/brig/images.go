package main

// Image commands: images, rmi, pull, load, import, tag. The logic lives in
// internal/image/store; this file only wires flags and prints results.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/brigrt/brig/internal/image/change"
	"github.com/brigrt/brig/internal/image/store"
	"github.com/spf13/cobra"
)

// rootDir is brig's state directory as given by the persistent --root flag
// (bound in main.go, default ""); storeRoot falls back to BRIG_ROOT and then
// /var/lib/brig.
var rootDir string

// storeRoot is brig's state directory: --root, else $BRIG_ROOT, else
// /var/lib/brig.
func storeRoot() string {
	if rootDir != "" {
		return rootDir
	}
	if r := os.Getenv("BRIG_ROOT"); r != "" {
		return r
	}
	return "/var/lib/brig"
}

// openStore opens the image store under the state directory.
func openStore() (*store.Store, error) {
	return store.Open(filepath.Join(storeRoot(), "images"))
}

func init() {
	root.AddCommand(imagesCmd(), rmiCmd(), pullCmd(), loadCmd(), importCmd(), tagCmd())
}

func imagesCmd() *cobra.Command {
	var format string
	var quiet, noTrunc bool
	c := &cobra.Command{
		Use:   "images [REPOSITORY[:TAG]]",
		Short: "List images",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "" && format != "json" && format != "table" {
				return fmt.Errorf("unknown --format %q: use table or json", format)
			}
			s, err := openStore()
			if err != nil {
				return err
			}
			imgs, err := s.List()
			if err != nil {
				return err
			}
			if len(args) == 1 {
				imgs = filterImages(imgs, args[0])
			}
			return printImages(cmd.OutOrStdout(), imgs, format, quiet, noTrunc)
		},
	}
	c.Flags().StringVar(&format, "format", "", "output format: table or json (an array, as `brig ps` prints)")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "only show image IDs")
	c.Flags().BoolVar(&noTrunc, "no-trunc", false, "show full image IDs")
	return c
}

// filterImages keeps images with a tag whose repository (or repo:tag) is
// ref.
func filterImages(imgs []*store.Image, ref string) []*store.Image {
	var out []*store.Image
	for _, img := range imgs {
		for _, t := range img.Tags {
			repo, _ := splitTag(t)
			if t == ref || repo == ref {
				out = append(out, img)
				break
			}
		}
	}
	return out
}

// splitTag splits "name:tag" at the tag's colon (not a registry port's).
func splitTag(t string) (repo, tag string) {
	i := strings.LastIndex(t, ":")
	if i < 0 || strings.Contains(t[i:], "/") {
		return t, ""
	}
	return t[:i], t[i+1:]
}

type imageRow struct {
	ID           string `json:"ID"`
	Repository   string `json:"Repository"`
	Tag          string `json:"Tag"`
	Digest       string `json:"Digest"`
	CreatedAt    string `json:"CreatedAt"`
	CreatedSince string `json:"CreatedSince"`
	Size         string `json:"Size"`
	SizeBytes    int64  `json:"SizeBytes"`
}

func rows(img *store.Image, noTrunc bool) []imageRow {
	id := img.ShortID()
	if noTrunc {
		id = img.ID
	}
	base := imageRow{ID: id, Repository: "<none>", Tag: "<none>", Digest: "<none>",
		CreatedSince: since(img.Created), Size: store.HumanSize(img.Size), SizeBytes: img.Size}
	if !img.Created.IsZero() {
		base.CreatedAt = img.Created.Format(time.RFC3339)
	}
	if len(img.Digests) > 0 {
		_, d, _ := strings.Cut(img.Digests[0], "@")
		base.Digest = d
	}
	if len(img.Tags) == 0 {
		return []imageRow{base}
	}
	var out []imageRow
	for _, t := range img.Tags {
		r := base
		r.Repository, r.Tag = splitTag(t)
		out = append(out, r)
	}
	return out
}

func since(t time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "Less than a minute ago"
	case d < time.Hour:
		return plural(int(d.Minutes()), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d.Hours()), "hour") + " ago"
	case d < 60*24*time.Hour:
		return plural(int(d.Hours()/24), "day") + " ago"
	case d < 2*365*24*time.Hour:
		return plural(int(d.Hours()/24/30), "month") + " ago"
	}
	return plural(int(d.Hours()/24/365), "year") + " ago"
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

func printImages(w io.Writer, imgs []*store.Image, format string, quiet, noTrunc bool) error {
	if quiet {
		for _, img := range imgs {
			id := img.ShortID()
			if noTrunc {
				id = img.ID
			}
			fmt.Fprintln(w, id)
		}
		return nil
	}
	if format == "json" {
		all := []imageRow{}
		for _, img := range imgs {
			all = append(all, rows(img, noTrunc)...)
		}
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(all)
	}
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE")
	for _, img := range imgs {
		for _, r := range rows(img, noTrunc) {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Repository, r.Tag, r.ID, r.CreatedSince, r.Size)
		}
	}
	return tw.Flush()
}

func rmiCmd() *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "rmi [-f] IMAGE...",
		Short: "Remove images",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore()
			if err != nil {
				return err
			}
			var errs []error
			out := cmd.OutOrStdout()
			for _, ref := range args {
				// Containers hold their images through the store's rootfs
				// records, which RemoveImage checks itself.
				res, err := s.RemoveImage(ref, force, nil)
				if res != nil {
					for _, t := range res.Untagged {
						fmt.Fprintln(out, "Untagged:", t)
					}
					if res.Deleted != "" {
						fmt.Fprintln(out, "Deleted:", res.Deleted)
					}
				}
				if err != nil {
					errs = append(errs, err)
				}
			}
			return errors.Join(errs...)
		},
	}
	c.Flags().BoolVarP(&force, "force", "f", false, "remove images with several names or in use by containers")
	return c
}

func pullCmd() *cobra.Command {
	var insecure, quiet bool
	c := &cobra.Command{
		Use:   "pull [--insecure] NAME[:TAG|@DIGEST]",
		Short: "Pull an image from a registry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			var progress io.Writer = os.Stdout
			if quiet {
				progress = nil
			}
			var opts []store.PullOption
			if insecure {
				opts = append(opts, store.Insecure())
			}
			img, err := s.Pull(ctx, args[0], progress, opts...)
			if err != nil {
				return err
			}
			if quiet {
				fmt.Fprintln(cmd.OutOrStdout(), img.ID)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Pulled %s (%s)\n", args[0], img.ShortID())
			return nil
		},
	}
	c.Flags().BoolVar(&insecure, "insecure", false, "allow plain http and unverified TLS (loopback registries need no flag)")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress; print the image ID")
	return c
}

func loadCmd() *cobra.Command {
	var input string
	c := &cobra.Command{
		Use:   "load [-i ARCHIVE]",
		Short: "Load images from a docker-save archive, an OCI archive or an OCI layout directory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore()
			if err != nil {
				return err
			}
			var imgs []*store.Image
			if input == "" || input == "-" {
				if fi, err := os.Stdin.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
					return errors.New("no archive: use -i ARCHIVE or pipe one to stdin")
				}
				imgs, err = s.LoadReader(os.Stdin)
			} else {
				imgs, err = s.Load(input)
			}
			if err != nil {
				return err
			}
			for _, img := range imgs {
				if len(img.Tags) == 0 {
					fmt.Fprintln(cmd.OutOrStdout(), "Loaded image ID:", img.ID)
				}
				for _, t := range img.Tags {
					fmt.Fprintln(cmd.OutOrStdout(), "Loaded image:", t)
				}
			}
			return nil
		},
	}
	c.Flags().StringVarP(&input, "input", "i", "", "archive or OCI layout directory to read (default: stdin)")
	return c
}

func importCmd() *cobra.Command {
	var changes []string
	var message string
	c := &cobra.Command{
		Use:   "import TARBALL|- [NAME[:TAG]]",
		Short: "Create an image from a root filesystem tarball (plain, gzip or zstd)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := change.Parse(changes)
			if err != nil {
				return err
			}
			s, err := openStore()
			if err != nil {
				return err
			}
			var r io.Reader = os.Stdin
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			ref := ""
			if len(args) == 2 {
				ref = args[1]
			}
			img, err := s.Import(r, ref, store.ImportOptions{Config: cfg, Comment: message})
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), img.ID)
			return nil
		},
	}
	c.Flags().StringArrayVarP(&changes, "change", "c", nil, "Dockerfile instruction for the image config (CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, STOPSIGNAL, VOLUME)")
	c.Flags().StringVarP(&message, "message", "m", "", "comment recorded in the image history")
	return c
}

func tagCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "tag SOURCE TARGET",
		Short: "Give an image another name",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore()
			if err != nil {
				return err
			}
			return s.Tag(args[0], args[1])
		},
	}
}
