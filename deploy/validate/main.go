// Command validate checks frontdesk's deployment files with the libraries the real tools
// are made of, since Docker, Envoy, promtool and a Kubernetes API server cannot run here:
//
//	validate envoy FILE          Envoy bootstrap: strict protobuf load (unknown fields and
//	                             unknown typed_config types fail), then protoc-gen-validate
//	                             rules on every message, typed_config payloads included
//	validate compose FILE        compose-go (what `docker compose config` runs): compose-spec
//	                             schema, interpolation, normalisation; prints the model as JSON
//	validate prometheus FILE     Prometheus' own config loader (as `promtool check config`)
//	validate rules FILE...       Prometheus rule files (as `promtool check rules`)
//	validate promql              PromQL expressions, a JSON list on stdin; prints the metric
//	                             names each one selects, as JSON
//	validate kustomize DIR       renders a kustomization (as `kubectl kustomize`); prints YAML
//
// Errors go to stderr with exit status 1.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/prometheus/prometheus/config"
	// service discovery mechanisms register themselves on import, as in Prometheus'
	// own build; only DNS is used (an unknown *_sd_configs field fails)
	_ "github.com/prometheus/prometheus/discovery/dns"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: validate envoy|compose|prometheus|rules|promql|kustomize ARGS"))
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "envoy":
		err = eachFile(args, checkEnvoy)
	case "compose":
		err = checkCompose(args)
	case "prometheus":
		err = eachFile(args, checkPrometheus)
	case "rules":
		err = eachFile(args, checkRules)
	case "promql":
		err = checkPromQL(os.Stdin, os.Stdout)
	case "kustomize":
		err = eachFile(args, renderKustomize)
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "validate:", err)
	os.Exit(1)
}

func eachFile(args []string, check func(string) error) error {
	if len(args) == 0 {
		return fmt.Errorf("no file given")
	}
	for _, a := range args {
		if err := check(a); err != nil {
			return fmt.Errorf("%s: %w", a, err)
		}
	}
	return nil
}

func checkCompose(files []string) error {
	if len(files) == 0 {
		return fmt.Errorf("no compose file given")
	}
	opts, err := cli.NewProjectOptions(files,
		cli.WithWorkingDirectory(filepath.Dir(files[0])),
		cli.WithOsEnv,
		cli.WithDotEnv,
		cli.WithName("frontdesk"),
	)
	if err != nil {
		return err
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		return err
	}
	out, err := project.MarshalJSON()
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(append(out, '\n'))
	return err
}

func checkPrometheus(file string) error {
	cfg, err := config.LoadFile(file, false, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	for _, pattern := range cfg.RuleFiles {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			return err
		}
		if len(matches) == 0 {
			return fmt.Errorf("rule_files entry %q matches no file", pattern)
		}
		for _, m := range matches {
			if err := checkRules(m); err != nil {
				return fmt.Errorf("%s: %w", m, err)
			}
		}
	}
	return nil
}

func renderKustomize(dir string) error {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resources, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return err
	}
	out, err := resources.AsYaml()
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(out)
	return err
}

// checkPromQL reads ["expr", ...] and writes [{"expr":..., "metrics":[...]}, ...];
// the first expression that does not parse is an error.
func checkPromQL(in io.Reader, out io.Writer) error {
	var exprs []string
	if err := json.NewDecoder(in).Decode(&exprs); err != nil {
		return fmt.Errorf("stdin: want a JSON list of strings: %w", err)
	}
	type result struct {
		Expr    string   `json:"expr"`
		Metrics []string `json:"metrics"`
	}
	results := make([]result, 0, len(exprs))
	for _, e := range exprs {
		names, err := metricNames(e)
		if err != nil {
			return fmt.Errorf("%q: %w", e, err)
		}
		results = append(results, result{Expr: e, Metrics: names})
	}
	return json.NewEncoder(out).Encode(results)
}

func metricNames(expr string) ([]string, error) {
	node, err := parseExpr(expr)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	names := []string{}
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && vs.Name != "" && !seen[vs.Name] {
			seen[vs.Name] = true
			names = append(names, vs.Name)
		}
		return nil
	})
	return names, nil
}
