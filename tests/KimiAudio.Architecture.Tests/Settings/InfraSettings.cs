using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace KimiAudio.Architecture.Tests.Settings;

public enum App { Orchestrator, Worker, Migrator }

/// <summary>A container that runs one of our apps in one deployment, with the environment variables it is given.</summary>
public sealed record AppContainer(string Deployment, string Where, App App, IReadOnlyList<string> Variables);

/// <summary>
/// Every environment key and config entry of infra/ as the apps would receive it: the Kubernetes overlays (kustomize base,
/// generators, overlay Secrets, components' ConfigMap patches, jobs/migrate), the Compose file and the Dockerfiles' ENV.
/// Read from the files (no kubectl needed): generators, resources, components and ConfigMap/Secret documents are followed;
/// JSON patches are not (none of them touches an app's environment).
/// </summary>
public sealed partial class InfraSettings
{
    /// <summary>Images (k8s names as in base/kustomization.yaml `images:`, Compose names) that run our apps.</summary>
    private static readonly Dictionary<string, App> K8sImages = new(StringComparer.Ordinal)
    {
        ["kimia-orchestrator"] = App.Orchestrator, ["kimia-worker"] = App.Worker, ["kimia-migrator"] = App.Migrator,
    };

    public List<AppContainer> Containers { get; } = [];

    /// <summary>Every variable that reaches an app: (where it is written, variable name).</summary>
    public List<(string Where, string Variable)> AppVariables { get; } = [];

    /// <summary>ConfigMap kimia-infra (settings of the infrastructure jobs, not injected into the apps).</summary>
    public Dictionary<string, string> InfraConfig { get; } = new(StringComparer.Ordinal);

    /// <summary>"configmap/key" of every configMapKeyRef and kustomize replacement source in infra/k8s.</summary>
    public HashSet<string> ConfigMapKeyUses { get; } = new(StringComparer.Ordinal);

    /// <summary>Problems found while reading (a missing ConfigMap or Secret, an unreadable file).</summary>
    public List<string> ReadProblems { get; } = [];

    public static InfraSettings Read(string infraRoot)
    {
        var s = new InfraSettings();
        var k8s = Path.Combine(infraRoot, "k8s");
        var components = Directory.GetDirectories(Path.Combine(k8s, "components")).Order(StringComparer.Ordinal).ToArray();
        var migrateJob = Path.Combine(k8s, "jobs", "migrate");
        foreach (var overlay in Directory.GetDirectories(Path.Combine(k8s, "overlays")).Order(StringComparer.Ordinal))
        {
            s.ReadK8s(k8s, overlay, [], migrateJob);
            if (components.Length > 0) s.ReadK8s(k8s, overlay, components, migrateJob);
        }
        s.ReadCompose(Path.Combine(infraRoot, "docker-compose.yml"));
        foreach (var dockerfile in Directory.GetFiles(infraRoot, "*.Dockerfile").Order(StringComparer.Ordinal)) s.ReadDockerfile(dockerfile);
        return s;
    }

    // ------------------------------------------------------------------------------------------------------ kubernetes

    private sealed class Rendering
    {
        public Dictionary<string, Dictionary<string, string>> ConfigMaps { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, HashSet<string>> Secrets { get; } = new(StringComparer.Ordinal);
        public List<(string File, YamlMappingNode Pod)> Pods { get; } = [];
    }

    private void ReadK8s(string k8s, string overlay, string[] components, string migrateJob)
    {
        var deployment = "k8s " + Path.GetRelativePath(k8s, overlay) + (components.Length > 0 ? " + components" : "");
        var r = new Rendering();
        Kustomize(k8s, overlay, r);
        foreach (var c in components) Kustomize(k8s, c, r);
        Kustomize(k8s, migrateJob, r);
        if (r.ConfigMaps.TryGetValue("kimia-infra", out var infra))
            foreach (var (k, v) in infra) InfraConfig[k] = v;
        foreach (var (file, pod) in r.Pods)
            foreach (var container in Seq(pod, "initContainers").Concat(Seq(pod, "containers")).OfType<YamlMappingNode>())
            {
                var where = $"{file} container {Scalar(container, "name")}";
                foreach (var e in Seq(container, "env").OfType<YamlMappingNode>())
                    if (Map(e, "valueFrom") is { } from && Map(from, "configMapKeyRef") is { } cmRef)
                        ConfigMapKeyUses.Add($"{Scalar(cmRef, "name")}/{Scalar(cmRef, "key")}");
                if (Scalar(container, "image") is not { } image || !K8sImages.TryGetValue(image, out var app)) continue;
                if (container.Children.ContainsKey("command")) continue; // a helper step in our image (check-weights), not the app
                var variables = new List<string>();
                foreach (var e in Seq(container, "env").OfType<YamlMappingNode>())
                    if (Scalar(e, "name") is { } n) Add(variables, where, n);
                foreach (var ef in Seq(container, "envFrom").OfType<YamlMappingNode>())
                {
                    if (Map(ef, "configMapRef") is { } cm)
                    {
                        var name = Scalar(cm, "name")!;
                        if (!r.ConfigMaps.TryGetValue(name, out var data)) ReadProblems.Add($"{deployment}: {where}: ConfigMap {name} does not exist");
                        else foreach (var k in data.Keys) Add(variables, $"ConfigMap {name} ({deployment})", k);
                    }
                    if (Map(ef, "secretRef") is { } sr)
                    {
                        var name = Scalar(sr, "name")!;
                        if (!r.Secrets.TryGetValue(name, out var keys)) ReadProblems.Add($"{deployment}: {where}: Secret {name} does not exist");
                        else foreach (var k in keys) Add(variables, $"Secret {name} ({deployment})", k);
                    }
                }
                Containers.Add(new AppContainer(deployment, where, app, variables));
            }
    }

    private void Add(List<string> variables, string where, string variable)
    {
        variables.Add(variable);
        AppVariables.Add((where, variable));
    }

    /// <summary>Follows one kustomization (resources, generators, ConfigMap patches) into <paramref name="r"/>.</summary>
    private void Kustomize(string k8s, string dir, Rendering r)
    {
        var file = Path.Combine(dir, "kustomization.yaml");
        var root = (YamlMappingNode)Load(file)[0];
        foreach (var res in Seq(root, "resources").OfType<YamlScalarNode>().Select(n => Path.GetFullPath(Path.Combine(dir, n.Value!))))
        {
            if (Directory.Exists(res)) Kustomize(k8s, res, r);
            else foreach (var doc in Load(res).OfType<YamlMappingNode>()) Resource(Path.GetRelativePath(k8s, res), doc, r);
        }
        foreach (var gen in Seq(root, "configMapGenerator").OfType<YamlMappingNode>())
        {
            var data = r.ConfigMaps.TryGetValue(Scalar(gen, "name")!, out var d) ? d : r.ConfigMaps[Scalar(gen, "name")!] = new(StringComparer.Ordinal);
            foreach (var env in Seq(gen, "envs").OfType<YamlScalarNode>())
                foreach (var (k, v) in EnvFile(Path.Combine(dir, env.Value!))) data[k] = v;
            foreach (var lit in Seq(gen, "literals").OfType<YamlScalarNode>())
                data[lit.Value!.Split('=', 2)[0]] = lit.Value.Split('=', 2).ElementAtOrDefault(1) ?? "";
        }
        foreach (var gen in Seq(root, "secretGenerator").OfType<YamlMappingNode>())
        {
            var keys = r.Secrets.TryGetValue(Scalar(gen, "name")!, out var k0) ? k0 : r.Secrets[Scalar(gen, "name")!] = new(StringComparer.Ordinal);
            foreach (var env in Seq(gen, "envs").OfType<YamlScalarNode>())
            {
                var path = Path.Combine(dir, env.Value!);
                if (!File.Exists(path)) path += ".example"; // overlays/production: the real files are not in git
                foreach (var (k, _) in EnvFile(path)) keys.Add(k);
            }
        }
        foreach (var patch in Seq(root, "patches").OfType<YamlMappingNode>())
            if (Scalar(patch, "patch") is { } text && Parse(text).FirstOrDefault() is YamlMappingNode doc && Scalar(doc, "kind") == "ConfigMap")
                Resource(Path.GetRelativePath(k8s, file) + " patch", doc, r);
        foreach (var rep in Seq(root, "replacements").OfType<YamlMappingNode>())
            if (Map(rep, "source") is { } src && Scalar(src, "kind") == "ConfigMap" && Scalar(src, "fieldPath") is { } fp && fp.StartsWith("data.", StringComparison.Ordinal))
                ConfigMapKeyUses.Add($"{Scalar(src, "name")}/{fp["data.".Length..]}");
    }

    private static void Resource(string file, YamlMappingNode doc, Rendering r)
    {
        var kind = Scalar(doc, "kind");
        var name = Map(doc, "metadata") is { } md ? Scalar(md, "name") : null;
        if (kind == "ConfigMap" && name is not null)
        {
            var data = r.ConfigMaps.TryGetValue(name, out var d) ? d : r.ConfigMaps[name] = new(StringComparer.Ordinal);
            if (Map(doc, "data") is { } m) foreach (var (k, v) in m.Children) data[((YamlScalarNode)k).Value!] = (v as YamlScalarNode)?.Value ?? "";
        }
        else if (kind == "Secret" && name is not null)
        {
            var keys = r.Secrets.TryGetValue(name, out var k0) ? k0 : r.Secrets[name] = new(StringComparer.Ordinal);
            foreach (var section in new[] { "data", "stringData" })
                if (Map(doc, section) is { } m) foreach (var k in m.Children.Keys) keys.Add(((YamlScalarNode)k).Value!);
        }
        else if (Map(doc, "spec") is { } spec)
        {
            var template = kind == "CronJob" ? Map(Map(Map(spec, "jobTemplate"), "spec"), "template") : Map(spec, "template");
            if (Map(template, "spec") is { } pod) r.Pods.Add((file, pod));
        }
    }

    // --------------------------------------------------------------------------------------------- compose, Dockerfiles

    private void ReadCompose(string file)
    {
        var root = (YamlMappingNode)Load(file)[0];
        foreach (var (nameNode, serviceNode) in Map(root, "services")!.Children)
        {
            var service = (YamlMappingNode)serviceNode;
            var image = Scalar(service, "image") ?? "";
            if (!image.StartsWith("kimia/", StringComparison.Ordinal)) continue; // third-party images read their own variables
            var entrypoint = string.Join(' ', Seq(service, "entrypoint").OfType<YamlScalarNode>().Select(n => n.Value));
            var app = image == "kimia/worker" ? App.Worker : entrypoint.Contains("Migrator", StringComparison.Ordinal) ? App.Migrator : App.Orchestrator;
            var where = $"docker-compose.yml service {((YamlScalarNode)nameNode).Value}";
            var variables = new List<string>();
            foreach (var v in ComposeEnvironment(service.Children.TryGetValue("environment", out var env) ? env : null)) Add(variables, where, v);
            Containers.Add(new AppContainer("compose", where, app, variables));
        }
    }

    /// <summary>Variable names of a Compose `environment:` (mapping with `&lt;&lt;` merges, or a KEY=VALUE list).</summary>
    private static IEnumerable<string> ComposeEnvironment(YamlNode? env)
    {
        if (env is YamlSequenceNode list)
            foreach (var item in list.OfType<YamlScalarNode>()) yield return item.Value!.Split('=', 2)[0];
        if (env is not YamlMappingNode map) yield break;
        foreach (var (k, v) in map.Children)
        {
            if (((YamlScalarNode)k).Value == "<<")
            {
                foreach (var merged in v is YamlSequenceNode many ? many.Children : [v])
                    foreach (var name in ComposeEnvironment(merged)) yield return name;
            }
            else yield return ((YamlScalarNode)k).Value!;
        }
    }

    private void ReadDockerfile(string file)
    {
        var where = Path.GetFileName(file);
        foreach (var line in File.ReadLines(file))
        {
            var m = EnvLine().Match(line);
            if (!m.Success) continue;
            var body = m.Groups[1].Value.Trim();
            var names = body.Contains('=', StringComparison.Ordinal)
                ? EnvPair().Matches(body).Select(p => p.Groups[1].Value)
                : [body.Split(' ', 2)[0]];
            foreach (var n in names) AppVariables.Add((where + " ENV", n));
        }
    }

    [GeneratedRegex(@"^\s*ENV\s+(.+)$")]
    private static partial Regex EnvLine();

    [GeneratedRegex(@"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=")]
    private static partial Regex EnvPair();

    // ---------------------------------------------------------------------------------------------------------- helpers

    /// <summary>KEY=VALUE lines of an env file (comments and blank lines skipped).</summary>
    public static IEnumerable<(string Key, string Value)> EnvFile(string path) =>
        File.ReadLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => (l.Split('=', 2)[0].Trim(), l.Split('=', 2).ElementAtOrDefault(1) ?? ""));

    private static List<YamlNode> Load(string file) => Parse(File.ReadAllText(file));

    private static List<YamlNode> Parse(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return stream.Documents.Select(d => d.RootNode).ToList();
    }

    private static YamlMappingNode? Map(YamlMappingNode? node, string key) =>
        node is not null && node.Children.TryGetValue(key, out var v) ? v as YamlMappingNode : null;

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(key, out var v) ? (v as YamlScalarNode)?.Value : null;

    private static IEnumerable<YamlNode> Seq(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(key, out var v) && v is YamlSequenceNode s ? s.Children : [];
}
