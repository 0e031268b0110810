// helm-render renders a Helm chart the way `helm template` does, for a machine without helm: Go's text/template with
// the sprig v3 functions and Helm's own ones, the chart's values.yaml deep-merged with override files and --set pairs,
// and the built-in objects (.Values, .Release, .Chart, .Capabilities, .Template, .Files). It writes every manifest
// document with a "# Source:" header to stdout and exits non-zero with the template or YAML error on failure.
//
// It is written for this repository's chart (no subcharts); README.md beside it lists where it differs from helm.
//
//	helm-render [-f values.yaml]... [--set a.b=c]... [--name R] [--namespace N] [--kube-version v1.31.0]
//	            [--api-versions g/v]... [--is-upgrade] [--notes] [--json] CHART_DIR
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/semver/v3"
	"github.com/Masterminds/sprig/v3"
	"sigs.k8s.io/yaml"
)

// Metadata is Chart.yaml with Helm's field names (.Chart.Name, .Chart.AppVersion, ...).
type Metadata struct {
	APIVersion   string            `json:"apiVersion"`
	Name         string            `json:"name"`
	Version      string            `json:"version"`
	KubeVersion  string            `json:"kubeVersion"`
	Description  string            `json:"description"`
	Type         string            `json:"type"`
	Keywords     []string          `json:"keywords"`
	Home         string            `json:"home"`
	Sources      []string          `json:"sources"`
	Icon         string            `json:"icon"`
	AppVersion   string            `json:"appVersion"`
	Deprecated   bool              `json:"deprecated"`
	Annotations  map[string]string `json:"annotations"`
	Dependencies []interface{}     `json:"dependencies"`
	Maintainers  []interface{}     `json:"maintainers"`
}

// KubeVersion is .Capabilities.KubeVersion.
type KubeVersion struct {
	Version string
	Major   string
	Minor   string
}

func (k KubeVersion) String() string     { return k.Version }
func (k KubeVersion) GitVersion() string { return k.Version }

// VersionSet is .Capabilities.APIVersions.
type VersionSet []string

// Has tells whether an API version ("apps/v1") or version/kind ("apps/v1/Deployment") is available.
func (v VersionSet) Has(apiVersion string) bool {
	for _, x := range v {
		if x == apiVersion {
			return true
		}
	}
	return false
}

// Capabilities is .Capabilities.
type Capabilities struct {
	KubeVersion KubeVersion
	APIVersions VersionSet
}

// Files is .Files: the chart's files outside templates/ (Get, GetBytes, Lines).
type Files map[string][]byte

func (f Files) GetBytes(name string) []byte { return f[name] }
func (f Files) Get(name string) string      { return string(f[name]) }
func (f Files) Lines(name string) []string {
	if f[name] == nil {
		return []string{}
	}
	return strings.Split(strings.TrimSuffix(string(f[name]), "\n"), "\n")
}

// builtInAPIVersions are the built-in group/versions of Kubernetes 1.30+ that charts commonly test with
// .Capabilities.APIVersions.Has (helm template without a cluster knows every version of its client-go).
var builtInAPIVersions = []string{
	"v1", "apps/v1", "batch/v1", "autoscaling/v1", "autoscaling/v2", "policy/v1", "networking.k8s.io/v1",
	"rbac.authorization.k8s.io/v1", "storage.k8s.io/v1", "apiextensions.k8s.io/v1", "admissionregistration.k8s.io/v1",
	"coordination.k8s.io/v1", "discovery.k8s.io/v1", "events.k8s.io/v1", "scheduling.k8s.io/v1", "node.k8s.io/v1",
	"certificates.k8s.io/v1", "flowcontrol.apiserver.k8s.io/v1", "authentication.k8s.io/v1", "authorization.k8s.io/v1",
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	var valueFiles, sets, apiVersions stringList
	name := flag.String("name", "release-name", "release name (.Release.Name)")
	namespace := flag.String("namespace", "default", "release namespace (.Release.Namespace)")
	kubeVersion := flag.String("kube-version", "v1.31.0", "Kubernetes version of .Capabilities (helm: its client-go version)")
	isUpgrade := flag.Bool("is-upgrade", false, "render as an upgrade (.Release.IsUpgrade, Revision 2)")
	notes := flag.Bool("notes", false, "also print the rendered NOTES.txt")
	asJSON := flag.Bool("json", false, "print JSON instead of YAML: {values, documents: [{source, object}]}, the merged values and each document as the API server decodes it")
	flag.Var(&valueFiles, "f", "values file merged over the chart's values.yaml (repeatable, later wins)")
	flag.Var(&sets, "set", "a.b.c=value merged last (repeatable; true/false/null/integers are typed as helm does)")
	flag.Var(&apiVersions, "api-versions", "extra API version for .Capabilities.APIVersions (repeatable)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: helm-render [flags] CHART_DIR")
		os.Exit(2)
	}
	out, err := render(flag.Arg(0), valueFiles, sets, *name, *namespace, *kubeVersion, apiVersions, *isUpgrade, *notes, *asJSON)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
	fmt.Print(out)
}

func render(chartDir string, valueFiles, sets []string, name, namespace, kubeVersion string, apiVersions []string, isUpgrade, notes, asJSON bool) (string, error) {
	meta, err := loadMetadata(chartDir)
	if err != nil {
		return "", err
	}
	caps, err := capabilities(kubeVersion, apiVersions)
	if err != nil {
		return "", err
	}
	if meta.KubeVersion != "" {
		constraint, err := semver.NewConstraint(meta.KubeVersion)
		if err != nil {
			return "", fmt.Errorf("Chart.yaml kubeVersion %q: %w", meta.KubeVersion, err)
		}
		if !constraint.Check(semver.MustParse(kubeVersion)) {
			return "", fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s", meta.KubeVersion, kubeVersion)
		}
	}
	values, err := loadValues(chartDir, valueFiles, sets)
	if err != nil {
		return "", err
	}
	files, templates, err := loadFiles(chartDir, meta.Name)
	if err != nil {
		return "", err
	}
	revision := 1
	if isUpgrade {
		revision = 2
	}
	top := map[string]interface{}{
		"Values": values,
		"Release": map[string]interface{}{
			"Name": name, "Namespace": namespace, "Service": "Helm",
			"IsInstall": !isUpgrade, "IsUpgrade": isUpgrade, "Revision": revision,
		},
		"Chart":        meta,
		"Capabilities": caps,
		"Files":        files,
		"Subcharts":    map[string]interface{}{},
	}
	return execute(templates, top, meta.Name, notes, asJSON)
}

func loadMetadata(chartDir string) (*Metadata, error) {
	data, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return nil, err
	}
	meta := &Metadata{}
	if err := yaml.Unmarshal(data, meta); err != nil {
		return nil, fmt.Errorf("Chart.yaml: %w", err)
	}
	switch {
	case meta.APIVersion != "v2":
		return nil, fmt.Errorf("Chart.yaml: apiVersion must be v2, not %q", meta.APIVersion)
	case meta.Name == "":
		return nil, errors.New("Chart.yaml: name is required")
	case meta.Type != "" && meta.Type != "application":
		return nil, fmt.Errorf("Chart.yaml: a %q chart cannot be rendered as a release", meta.Type)
	case len(meta.Dependencies) > 0:
		return nil, errors.New("Chart.yaml: dependencies (subcharts) are not supported by helm-render")
	}
	if _, err := semver.StrictNewVersion(meta.Version); err != nil {
		return nil, fmt.Errorf("Chart.yaml: version %q is not SemVer 2: %w", meta.Version, err)
	}
	return meta, nil
}

func capabilities(kubeVersion string, extra []string) (Capabilities, error) {
	v, err := semver.NewVersion(kubeVersion)
	if err != nil {
		return Capabilities{}, fmt.Errorf("--kube-version %q: %w", kubeVersion, err)
	}
	versions := append(append(VersionSet{}, builtInAPIVersions...), extra...)
	return Capabilities{
		KubeVersion: KubeVersion{Version: "v" + v.String(), Major: strconv.FormatUint(v.Major(), 10), Minor: strconv.FormatUint(v.Minor(), 10)},
		APIVersions: versions,
	}, nil
}

// readYAMLMap reads a values file as helm does (sigs.k8s.io/yaml: YAML → JSON → Go, so numbers are float64).
func readYAMLMap(file string) (map[string]interface{}, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	m := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return m, nil
}

// loadValues is values.yaml coalesced with the user's values: the -f files merged in order, then the --set pairs.
func loadValues(chartDir string, valueFiles, sets []string) (map[string]interface{}, error) {
	defaults, err := readYAMLMap(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return nil, err
	}
	user := map[string]interface{}{}
	for _, f := range valueFiles {
		m, err := readYAMLMap(f)
		if err != nil {
			return nil, err
		}
		user = mergeMaps(user, m)
	}
	for _, s := range sets {
		if err := applySet(user, s); err != nil {
			return nil, err
		}
	}
	return coalesce(user, defaults), nil
}

// mergeMaps deep-merges b over a (maps recursively, anything else replaced): how helm combines -f files.
func mergeMaps(a, b map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if bm, ok := v.(map[string]interface{}); ok {
			if am, ok := out[k].(map[string]interface{}); ok {
				out[k] = mergeMaps(am, bm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// coalesce fills the user's values with the chart's defaults: the user's value wins, maps merge recursively, and a
// user's null deletes the key (helm's way to drop a default).
func coalesce(user, defaults map[string]interface{}) map[string]interface{} {
	out := map[string]interface{}{}
	for k, v := range defaults {
		out[k] = v
	}
	for k, v := range user {
		if v == nil {
			delete(out, k)
			continue
		}
		um, uok := v.(map[string]interface{})
		dm, dok := out[k].(map[string]interface{})
		if uok && dok {
			out[k] = coalesce(um, dm)
		} else {
			out[k] = v
		}
	}
	return out
}

var integer = regexp.MustCompile(`^[-+]?(0|[1-9][0-9]*)$`)

// applySet applies one --set a.b.c=value (no list indexes, no escapes, one pair per flag).
func applySet(values map[string]interface{}, pair string) error {
	key, raw, ok := strings.Cut(pair, "=")
	if !ok || key == "" {
		return fmt.Errorf("--set %q: expected key=value", pair)
	}
	var value interface{} = raw
	switch {
	case raw == "true" || raw == "false":
		value = raw == "true"
	case raw == "null":
		value = nil
	case integer.MatchString(raw):
		if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
			value = n
		}
	}
	parts := strings.Split(key, ".")
	node := values
	for _, p := range parts[:len(parts)-1] {
		child, ok := node[p].(map[string]interface{})
		if !ok {
			child = map[string]interface{}{}
			node[p] = child
		}
		node = child
	}
	node[parts[len(parts)-1]] = value
	return nil
}

type tmpl struct{ name, text string }

// loadFiles reads templates/ (every file, any depth; names as helm gives them: <chart>/templates/<path>) and the
// chart's other files for .Files.
func loadFiles(chartDir, chartName string) (Files, []tmpl, error) {
	files := Files{}
	var templates []tmpl
	if _, err := os.Stat(filepath.Join(chartDir, "charts")); err == nil {
		return nil, nil, errors.New("charts/ (subcharts) is not supported by helm-render")
	}
	err := filepath.WalkDir(chartDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(chartDir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		switch {
		case strings.HasPrefix(rel, "templates/"):
			templates = append(templates, tmpl{path.Join(chartName, rel), string(data)})
		case rel != "Chart.yaml" && rel != "values.yaml":
			files[rel] = data
		}
		return nil
	})
	sort.Slice(templates, func(i, j int) bool { return templates[i].name < templates[j].name })
	return files, templates, err
}

const recursionLimit = 1000

// execute parses every template into one set (so each sees every define) and renders the manifests: not the
// partials (base name starting with "_"); NOTES.txt is rendered (its errors fail the release too) but only printed
// with --notes, as helm does.
func execute(templates []tmpl, top map[string]interface{}, chartName string, notes, asJSON bool) (string, error) {
	t := template.New("gotpl")
	t.Option("missingkey=zero") // helm's default (lint --strict uses missingkey=error)
	depth := map[string]int{}
	funcs := funcMap()
	funcs["include"] = func(name string, data interface{}) (string, error) {
		if depth[name] >= recursionLimit {
			return "", fmt.Errorf("rendering template has a nested reference name: %s: unable to execute template", name)
		}
		depth[name]++
		defer func() { depth[name]-- }()
		var buf strings.Builder
		if err := t.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		clone, err := t.Clone()
		if err != nil {
			return "", err
		}
		parsed, err := clone.New("tpl").Parse(text)
		if err != nil {
			return "", fmt.Errorf("cannot parse template %q: %w", text, err)
		}
		var buf strings.Builder
		if err := parsed.Execute(&buf, data); err != nil {
			return "", fmt.Errorf("error during tpl function execution for %q: %w", text, err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	t.Funcs(funcs)
	for _, tp := range templates {
		if _, err := t.New(tp.name).Parse(tp.text); err != nil {
			return "", fmt.Errorf("parse error in %s: %w", tp.name, err)
		}
	}

	var out strings.Builder
	var notesText string
	var objects []json.RawMessage
	for _, tp := range templates {
		if strings.HasPrefix(path.Base(tp.name), "_") {
			continue
		}
		data := make(map[string]interface{}, len(top)+1)
		for k, v := range top {
			data[k] = v
		}
		data["Template"] = map[string]interface{}{"Name": tp.name, "BasePath": path.Join(chartName, "templates")}
		var buf strings.Builder
		if err := t.ExecuteTemplate(&buf, tp.name, data); err != nil {
			return "", err
		}
		rendered := strings.ReplaceAll(buf.String(), "<no value>", "")
		if path.Base(tp.name) == "NOTES.txt" {
			notesText = rendered
			continue
		}
		documents, err := splitDocuments(tp.name, rendered)
		if err != nil {
			return "", err
		}
		for _, d := range documents {
			fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", tp.name, d.yaml)
			source, _ := json.Marshal(tp.name)
			objects = append(objects, json.RawMessage(fmt.Sprintf(`{"source":%s,"object":%s}`, source, d.json)))
		}
	}
	if asJSON {
		data, err := json.MarshalIndent(map[string]interface{}{"values": top["Values"], "documents": objects}, "", "  ")
		return string(data) + "\n", err
	}
	if notes && notesText != "" {
		fmt.Fprintf(&out, "\nNOTES:\n%s\n", notesText)
	}
	return out.String(), nil
}

type document struct {
	yaml string
	json []byte
}

var separator = regexp.MustCompile(`(?:^|\s*\n)---\s*`)

// splitDocuments splits a rendered file on "---" lines, drops the documents with no YAML node (empty or only
// comments) and fails on one that is not YAML or has a duplicate key (strict, like the API server's decoding).
func splitDocuments(name, rendered string) ([]document, error) {
	var documents []document
	for _, d := range separator.Split(strings.TrimSpace(rendered), -1) {
		d = strings.TrimSpace(d)
		if d == "" {
			continue
		}
		j, err := yaml.YAMLToJSONStrict([]byte(d))
		if err != nil {
			return nil, fmt.Errorf("YAML parse error on %s: %w\n%s", name, err, d)
		}
		if string(j) == "null" {
			continue
		}
		documents = append(documents, document{d, j})
	}
	return documents, nil
}

// funcMap is sprig's text functions without env/expandenv (helm removes them) plus helm's own, except include and
// tpl, which need the template set (see execute).
func funcMap() template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	extra := template.FuncMap{
		"toYaml": func(v interface{}) string {
			data, err := yaml.Marshal(v)
			if err != nil {
				return "" // helm swallows the error
			}
			return strings.TrimSuffix(string(data), "\n")
		},
		"fromYaml": func(s string) map[string]interface{} {
			m := map[string]interface{}{}
			if err := yaml.Unmarshal([]byte(s), &m); err != nil {
				m["Error"] = err.Error()
			}
			return m
		},
		"fromYamlArray": func(s string) []interface{} {
			var a []interface{}
			if err := yaml.Unmarshal([]byte(s), &a); err != nil {
				a = []interface{}{err.Error()}
			}
			return a
		},
		"toJson": func(v interface{}) string {
			data, err := json.Marshal(v)
			if err != nil {
				return ""
			}
			return string(data)
		},
		"fromJson": func(s string) map[string]interface{} {
			m := map[string]interface{}{}
			if err := json.Unmarshal([]byte(s), &m); err != nil {
				m["Error"] = err.Error()
			}
			return m
		},
		"fromJsonArray": func(s string) []interface{} {
			var a []interface{}
			if err := json.Unmarshal([]byte(s), &a); err != nil {
				a = []interface{}{err.Error()}
			}
			return a
		},
		"required": func(warning string, v interface{}) (interface{}, error) {
			if v == nil {
				return v, errors.New(warning)
			}
			if s, ok := v.(string); ok && s == "" {
				return v, errors.New(warning)
			}
			return v, nil
		},
		// helm template has no cluster: lookup finds nothing.
		"lookup": func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
			return map[string]interface{}{}, nil
		},
	}
	for k, v := range extra {
		f[k] = v
	}
	return f
}
