using System.CommandLine;
using System.CommandLine.Invocation;
using Npgsql;

namespace KimiAudio.Cli;

/// <summary>
/// Exit codes of every command: 0 done; 1 a failure or something not found (one line on stderr); 2 a usage error
/// (bad or missing arguments: the line names the argument and, where there is a list, its allowed values).
/// </summary>
public static class CliAction
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int Usage = 2;

    public static async Task<int> RunAsync(Func<Task> action)
    {
        try
        {
            await action();
            return Ok;
        }
        catch (UsageException ex)
        {
            Console.Error.WriteLine($"kimia: {ex.Message}");
            return Usage;
        }
        catch (Exception ex) when (ex is CliException or HttpRequestException or ArgumentException or NpgsqlException or IOException or System.Text.Json.JsonException)
        {
            Console.Error.WriteLine($"kimia: {ex.Message}");
            return Failure;
        }
    }

    /// <summary>Parses and runs; a parse error is reported (with the command's usage hint) as exit code 2.</summary>
    public static async Task<int> InvokeAsync(RootCommand root, string[] args)
    {
        var parse = root.Parse(args);
        if (parse.Action is not ParseErrorAction) return await parse.InvokeAsync();
        foreach (var error in parse.Errors) Console.Error.WriteLine($"kimia: {error.Message}");
        var command = parse.CommandResult.Command;
        var path = string.Join(' ', Ancestry(command));
        var arguments = string.Concat(command.Arguments.Select(a => a.Arity.MinimumNumberOfValues > 0 ? $" <{a.Name}>" : $" [<{a.Name}>]"));
        Console.Error.WriteLine($"Usage: {path}{arguments} [options]. Run '{path} --help' for details.");
        return Usage;
    }

    private static IEnumerable<string> Ancestry(Command command)
    {
        var names = new List<string>();
        for (var c = command; c is not null; c = c.Parents.OfType<Command>().FirstOrDefault()) names.Insert(0, c is RootCommand ? "kimia" : c.Name);
        return names;
    }
}

/// <summary>Bad arguments found after parsing (exit code 2).</summary>
public sealed class UsageException(string message) : Exception(message);
