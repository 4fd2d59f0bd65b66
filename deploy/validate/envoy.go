package main

import (
	"fmt"
	"os"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"sigs.k8s.io/yaml"

	// Every extension envoy.yaml may name in a typed_config: importing a package
	// registers its types, so an unknown or misspelled @type fails to resolve.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/stream/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/cors/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/grpc_web/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/health_check/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/resource_monitors/downstream_connections/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
)

type validator interface{ ValidateAll() error }

func checkEnvoy(file string) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return err
	}
	var bootstrap bootstrapv3.Bootstrap
	// DiscardUnknown false: an unknown field is an error, as in `envoy --mode validate`.
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(js, &bootstrap); err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	return validateTree(&bootstrap, "bootstrap")
}

// validateTree runs the message's protoc-gen-validate rules and those of every Any
// payload below it (ValidateAll does not look inside Any).
func validateTree(m proto.Message, path string) error {
	if v, ok := m.(validator); ok {
		if err := v.ValidateAll(); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return walk(m.ProtoReflect(), path)
}

func walk(m protoreflect.Message, path string) error {
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind {
			return true
		}
		p := path + "." + string(fd.Name())
		switch {
		case fd.IsList():
			for i := 0; i < v.List().Len() && err == nil; i++ {
				err = visit(v.List().Get(i).Message(), fmt.Sprintf("%s[%d]", p, i))
			}
		case fd.IsMap():
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
					err = visit(mv.Message(), fmt.Sprintf("%s[%v]", p, k.Interface()))
					return err == nil
				})
			}
		default:
			err = visit(v.Message(), p)
		}
		return err == nil
	})
	return err
}

func visit(m protoreflect.Message, path string) error {
	if a, ok := m.Interface().(*anypb.Any); ok {
		inner, err := a.UnmarshalNew()
		if err != nil {
			return fmt.Errorf("%s (%s): %w", path, a.GetTypeUrl(), err)
		}
		return validateTree(inner, path+"<"+string(inner.ProtoReflect().Descriptor().FullName())+">")
	}
	return walk(m, path)
}

