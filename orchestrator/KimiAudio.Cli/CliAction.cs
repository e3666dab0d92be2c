using Npgsql;

namespace KimiAudio.Cli;

/// <summary>Runs a command's work: a problem the user can fix is one line on stderr and exit code 1.</summary>
public static class CliAction
{
    public static async Task<int> RunAsync(Func<Task> action)
    {
        try
        {
            await action();
            return 0;
        }
        catch (Exception ex) when (ex is CliException or HttpRequestException or ArgumentException or NpgsqlException)
        {
            Console.Error.WriteLine($"kimia: {ex.Message}");
            return 1;
        }
    }
}
