using System.Security.Cryptography;
using System.Text;

namespace KimiAudio.Infrastructure.Auth;

/// <summary>
/// The text form of an API key: <c>kimia_&lt;prefix&gt;_&lt;secret&gt;</c>. The prefix (12 hex characters) finds the
/// key's row; the secret is 32 random bytes (base64url). Only the SHA-256 of the whole key is stored: the secret has
/// 256 bits of entropy, so a slow password hash would add nothing.
/// </summary>
public static class ApiKeySecret
{
    public const string Tag = "kimia_";
    private const int PrefixLength = 12;

    public static (string Key, string Prefix, byte[] Hash) Generate()
    {
        var prefix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(PrefixLength / 2));
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var key = $"{Tag}{prefix}_{secret}";
        return (key, prefix, Hash(key));
    }

    /// <summary>The lookup prefix of a well-formed key; false for anything else.</summary>
    public static bool TryGetPrefix(string key, out string prefix)
    {
        prefix = "";
        if (key.Length < Tag.Length + PrefixLength + 2 || !key.StartsWith(Tag, StringComparison.Ordinal) || key[Tag.Length + PrefixLength] != '_')
            return false;
        prefix = key.Substring(Tag.Length, PrefixLength);
        return true;
    }

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    /// <summary>Constant-time comparison of the key's hash with a stored hash.</summary>
    public static bool Matches(string key, byte[] storedHash) => CryptographicOperations.FixedTimeEquals(Hash(key), storedHash);
}
