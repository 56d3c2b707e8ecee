using System.Buffers.Text;
using System.Text;

namespace Whitesky.Api.Tests.Peers;

/// <summary>Makes unsigned JWT-shaped tokens with a chosen <c>exp</c> (the client never validates signatures).</summary>
public static class TestJwt
{
    public static string Create(DateTimeOffset expiry, string subject = "tester")
    {
        static string Part(string json) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));
        return $"{Part("{\"alg\":\"ES384\",\"typ\":\"JWT\"}")}.{Part($"{{\"sub\":\"{subject}\",\"exp\":{expiry.ToUnixTimeSeconds()},\"nonce\":\"{Guid.NewGuid():N}\"}}")}.c2lnbmF0dXJl{Guid.NewGuid():N}";
    }
}
