package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// Prometheus 3's default parser (no experimental functions), as promtool uses it.
var promqlParser = parser.NewParser(parser.Options{})

func checkRules(file string) error {
	_, errs := rulefmt.ParseFile(file, false, model.UTF8Validation, promqlParser,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if len(errs) > 0 {
		return fmt.Errorf("rules: %w", errors.Join(errs...))
	}
	return nil
}

func parseExpr(expr string) (parser.Expr, error) { return promqlParser.ParseExpr(expr) }
